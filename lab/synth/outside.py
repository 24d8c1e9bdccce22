# ruff: noqa: E501 - data: Vietnamese sentences and field lists read better unwrapped
"""Official papers the catalog does not name (synthetic material, all NFC).

Real dossiers are mostly made of papers no procedure asks for: decisions,
directives, official letters, reports, submissions, notices, one-stop-shop
receipts and appointment slips, tax notices and declarations, transfer
contracts, commitments, other minutes, diplomas and other certificates. They
carry the same national motto, agency headers, seals and signatures as the
catalog's papers, and some share words with catalog titles ("QUYẾT ĐỊNH",
"GIẤY CHỨNG NHẬN", "TỜ KHAI", "HỢP ĐỒNG"): the hard negatives of the open-set
decision. Their ids start with ``other:``; every one is labelled ``unknown``.
"""

from __future__ import annotations

from lab.synth.doctypes import _ID, _P, _RES, Profile
from models.schemas import UNKNOWN

PREFIX = "other:"

_LAND = (("Thửa đất số:", "parcel"), ("Tờ bản đồ số:", "sheet"), ("Diện tích:", "area"))

OUTSIDE: tuple[Profile, ...] = (
    Profile(PREFIX + "decision", ("QUYẾT ĐỊNH",),
            (("Về việc:", "subject"), ("Căn cứ:", "legal_basis"), _P, _ID, _RES, *_LAND),
            ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015.",
             "Quyết định này có hiệu lực kể từ ngày ký.",
             "Chánh Văn phòng, Trưởng phòng Tài nguyên và Môi trường và các cá nhân có liên quan chịu trách nhiệm thi hành Quyết định này.",
             "Thu hồi {n} m² đất của hộ gia đình tại {ward} để thực hiện dự án."),
            ("Số: {n}/QĐ-UBND",), issued=True, subtitle=("ỦY BAN NHÂN DÂN QUẬN CẦU GIẤY",)),
    Profile(PREFIX + "directive", ("CHỈ THỊ",),
            (("Về việc:", "subject"),),
            ("Chủ tịch Ủy ban nhân dân thành phố yêu cầu các sở, ban, ngành triển khai thực hiện nghiêm các nội dung sau.",
             "Tăng cường công tác quản lý nhà nước về đất đai, trật tự xây dựng trên địa bàn.",
             "Giao Văn phòng Ủy ban nhân dân thành phố theo dõi, đôn đốc việc thực hiện Chỉ thị này."),
            ("Số: {n}/CT-UBND",), issued=True, subtitle=("ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",)),
    Profile(PREFIX + "official_letter", ("V/v trả lời kiến nghị của công dân", "V/v phối hợp xác minh hồ sơ"),
            (("Kính gửi:", "agency"),),
            ("Ủy ban nhân dân phường nhận được đơn kiến nghị của công dân ngày {date}.",
             "Đề nghị các đơn vị phối hợp thực hiện và báo cáo kết quả trước ngày {date}.",
             "Ủy ban nhân dân phường trả lời để công dân được biết."),
            ("Số: {n}/UBND-VP",), issued=True, subtitle=("ỦY BAN NHÂN DÂN PHƯỜNG DỊCH VỌNG",)),
    Profile(PREFIX + "report", ("BÁO CÁO", "BÁO CÁO KẾT QUẢ THỰC HIỆN NHIỆM VỤ"),
            (("Kính gửi:", "agency"),),
            ("Thực hiện kế hoạch năm 2025, Ủy ban nhân dân phường báo cáo kết quả như sau.",
             "Tổng số hồ sơ tiếp nhận trong kỳ là {n} hồ sơ, đã giải quyết đúng hạn.",
             "Phương hướng nhiệm vụ trong thời gian tới."),
            ("Số: {n}/BC-UBND",), issued=True, subtitle=("ỦY BAN NHÂN DÂN PHƯỜNG KIM MÃ",)),
    Profile(PREFIX + "submission", ("TỜ TRÌNH",),
            (("Kính gửi:", "agency"), ("Về việc:", "subject")),
            ("Căn cứ đề nghị của phòng chuyên môn, Ủy ban nhân dân kính trình xem xét, phê duyệt.",
             "Kính trình Ủy ban nhân dân thành phố xem xét, quyết định.",
             "Hồ sơ kèm theo gồm dự thảo quyết định và các văn bản có liên quan."),
            ("Số: {n}/TTr-UBND",), issued=True, subtitle=("ỦY BAN NHÂN DÂN XÃ KIM CHUNG",)),
    Profile(PREFIX + "notice", ("THÔNG BÁO", "THÔNG BÁO KẾT LUẬN CỦA CHỦ TỊCH ỦY BAN NHÂN DÂN"),
            (("Về việc:", "subject"),),
            ("Ủy ban nhân dân phường thông báo lịch tiếp công dân định kỳ trong quý.",
             "Đề nghị các tổ chức, cá nhân có liên quan biết và thực hiện.",
             "Thời gian: từ {hour} giờ ngày {date}."),
            ("Số: {n}/TB-UBND",), issued=True, subtitle=("ỦY BAN NHÂN DÂN PHƯỜNG LÁNG THƯỢNG",)),
    Profile(PREFIX + "receipt", ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",),
            (("Mã hồ sơ:", "taxcode"), ("Tiếp nhận hồ sơ của:", "name"), ("Địa chỉ:", "address"),
             ("Số điện thoại:", "phone"), ("Thời gian nhận hồ sơ:", "time"), ("Thời gian trả kết quả:", "time")),
            ("Bộ phận tiếp nhận và trả kết quả đã nhận đủ hồ sơ theo danh mục dưới đây.",
             "Khi đến nhận kết quả, người nộp hồ sơ mang theo giấy tiếp nhận này."),
            ("Mẫu số 01",), issued=True, subtitle=("BỘ PHẬN MỘT CỬA",)),
    Profile(PREFIX + "appointment", ("PHIẾU HẸN TRẢ KẾT QUẢ",),
            (("Họ và tên người nộp:", "name"), ("Số hồ sơ:", "taxcode"), ("Ngày hẹn trả:", "date")),
            ("Quá thời hạn trên, đề nghị liên hệ bộ phận một cửa để được giải quyết.",),
            (), issued=True, subtitle=("TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",)),
    Profile(PREFIX + "tax_notice", ("THÔNG BÁO NỘP TIỀN", "THÔNG BÁO NỘP LỆ PHÍ TRƯỚC BẠ NHÀ, ĐẤT"),
            (("Tên người nộp thuế:", "name"), ("Mã số thuế:", "taxcode"), ("Địa chỉ:", "address"), *_LAND,
             ("Số tiền phải nộp:", "money")),
            ("Căn cứ hồ sơ và tờ khai của người nộp thuế, cơ quan thuế thông báo số tiền phải nộp như sau.",
             "Thời hạn nộp tiền chậm nhất là ngày {date}."),
            ("Mẫu số 01/TB-LPTB",), issued=True, subtitle=("CHI CỤC THUẾ QUẬN ĐỐNG ĐA",), layout="table"),
    Profile(PREFIX + "tax_declaration", ("TỜ KHAI LỆ PHÍ TRƯỚC BẠ NHÀ, ĐẤT", "TỜ KHAI THUẾ THU NHẬP CÁ NHÂN"),
            (("Người nộp thuế:", "name"), ("Mã số thuế:", "taxcode"), _ID, ("Địa chỉ:", "address"), *_LAND,
             ("Giá trị:", "money")),
            ("Tôi cam đoan số liệu khai trên là đúng và chịu trách nhiệm trước pháp luật về số liệu đã khai.",),
            ("Mẫu số 01/LPTB",), layout="table"),
    Profile(PREFIX + "transfer_contract", ("HỢP ĐỒNG CHUYỂN NHƯỢNG QUYỀN SỬ DỤNG ĐẤT", "HỢP ĐỒNG MUA BÁN NHÀ Ở"),
            (("Bên chuyển nhượng (Bên A):", "name"), _ID, _RES, ("Bên nhận chuyển nhượng (Bên B):", "name"), _ID,
             *_LAND, ("Giá chuyển nhượng:", "money")),
            ("Hai bên tự nguyện lập và ký hợp đồng này với các điều khoản sau đây.",
             "Bên A cam kết thửa đất không có tranh chấp, không bị kê biên để bảo đảm thi hành án.",
             "Hợp đồng được lập thành {n} bản có giá trị pháp lý như nhau."),
            ("Số công chứng: {n}",)),
    Profile(PREFIX + "commitment", ("BẢN CAM KẾT", "GIẤY CAM KẾT"),
            (_P, _ID, _RES),
            ("Tôi xin cam kết thực hiện đúng các quy định của pháp luật.",
             "Nếu sai, tôi xin hoàn toàn chịu trách nhiệm trước pháp luật."),
            ()),
    Profile(PREFIX + "minutes", ("BIÊN BẢN LÀM VIỆC", "BIÊN BẢN KIỂM TRA HIỆN TRẠNG SỬ DỤNG ĐẤT"),
            (("Thời gian:", "time"), ("Địa điểm:", "address"), ("Thành phần gồm:", "name"), *_LAND),
            ("Hôm nay, vào hồi {hour} giờ, tại trụ sở Ủy ban nhân dân phường, chúng tôi gồm có.",
             "Biên bản kết thúc vào hồi {hour} giờ cùng ngày, đã đọc lại cho mọi người cùng nghe và nhất trí ký tên."),
            (), issued=True, subtitle=("ỦY BAN NHÂN DÂN PHƯỜNG DỊCH VỌNG",)),
    Profile(PREFIX + "diploma", ("BẰNG TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG", "BẰNG CỬ NHÂN"),
            (_P, ("Ngày sinh:", "date"), ("Xếp loại tốt nghiệp:", "grade"), ("Số hiệu:", "taxcode")),
            ("Công nhận tốt nghiệp cho người có tên trên.",),
            ("Vào sổ cấp bằng số: {n}",), issued=True, subtitle=("SỞ GIÁO DỤC VÀ ĐÀO TẠO HÀ NỘI",)),
    Profile(PREFIX + "other_certificate", ("GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP", "GIẤY CHỨNG NHẬN ĐỦ ĐIỀU KIỆN AN TOÀN THỰC PHẨM"),
            (("Tên doanh nghiệp:", "business"), ("Mã số doanh nghiệp:", "taxcode"), ("Địa chỉ trụ sở chính:", "address"),
             ("Người đại diện theo pháp luật:", "name"), _ID),
            ("Giấy chứng nhận này có giá trị kể từ ngày cấp.",),
            ("Đăng ký lần đầu: ngày {date}",), issued=True, subtitle=("SỞ KẾ HOẠCH VÀ ĐẦU TƯ",)),
)

BY_KIND: dict[str, Profile] = {p.doc_type: p for p in OUTSIDE}


def truth(doc_type: str) -> str:
    """The label a page of ``doc_type`` must get: ``unknown`` for papers outside the catalog."""
    return UNKNOWN if doc_type.startswith(PREFIX) else doc_type
