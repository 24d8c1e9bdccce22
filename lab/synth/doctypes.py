# ruff: noqa: E501 - data: Vietnamese sentences and field lists read better unwrapped
"""What each catalog document type looks like on paper (synthetic material, all NFC).

A :class:`Profile` per document type of docs/catalog.md: printed title variants,
form-number line, labelled fields (label + kind of value), typical sentences,
whether an agency issues it (agency header, seal), and its layout kind
(``text``, ``table``, ``card``, ``drawing``, ``map``). Used by the renderer
when a :class:`~lab.synth.render.PageSpec` asks for ``typed`` content.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lab.synth import texts


@dataclass(frozen=True)
class Profile:
    doc_type: str
    titles: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]  # (label, value kind)
    sentences: tuple[str, ...]
    form_no: tuple[str, ...] = ()
    issued: bool = False
    layout: str = "text"
    subtitle: tuple[str, ...] = ()


_P = ("Họ, chữ đệm, tên:", "name")
_BORN = ("Ngày, tháng, năm sinh:", "date")
_SEX = ("Giới tính:", "sex")
_ETH = ("Dân tộc:", "ethnicity")
_NAT = ("Quốc tịch:", "nationality")
_ID = ("Số định danh cá nhân:", "id")
_RES = ("Nơi cư trú:", "address")
_BPL = ("Nơi sinh:", "birthplace")
_HOME = ("Quê quán:", "hometown")
_JOB = ("Nghề nghiệp:", "occupation")
_TEL = ("Số điện thoại:", "phone")
_PERSON = (_P, _BORN, _SEX, _ETH, _NAT, _ID, _RES)

PROFILES: tuple[Profile, ...] = (
    Profile("birth_reg_form", ("TỜ KHAI ĐĂNG KÝ KHAI SINH",),
            (("Kính gửi:", "agency"), ("Họ, chữ đệm, tên người yêu cầu:", "name"), _ID, _RES,
             ("Quan hệ với người được khai sinh:", "parent"), ("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:", "blank"),
             _P, _BORN, ("Ngày, tháng, năm sinh bằng chữ:", "date_words"), _SEX, _ETH, _NAT, _BPL, _HOME,
             ("Họ, chữ đệm, tên người mẹ:", "name"), ("Họ, chữ đệm, tên người cha:", "name")),
            ("Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật.",
             "Đề nghị cấp bản sao Giấy khai sinh: có, số lượng {n} bản.",
             "Trẻ em được đăng ký khai sinh trong thời hạn sáu mươi ngày kể từ ngày sinh."),
            ("Mẫu số 01/HT", "Mẫu TK khai sinh")),
    Profile("birth_certificate_medical", ("GIẤY CHỨNG SINH",),
            (("Họ và tên mẹ:", "name"), ("Năm sinh:", "year"), _ID, _RES, _ETH,
             ("Đã sinh con vào lúc:", "time"), ("Tại:", "hospital"), ("Số lần sinh:", "small"),
             ("Số con trong lần sinh này:", "small"), _SEX, ("Cân nặng:", "weight"),
             ("Dự định đặt tên con là:", "name"), ("Người đỡ đẻ:", "name")),
            ("Giấy chứng sinh được cấp cho trẻ sinh ra tại cơ sở khám bệnh, chữa bệnh.",
             "Người đỡ đẻ chịu trách nhiệm về tính chính xác của thông tin ghi trong giấy chứng sinh.",
             "Giấy chứng sinh là căn cứ để đăng ký khai sinh cho trẻ."),
            ("Mẫu số 01/BYT", "Số: {n}/GCS"), issued=True, subtitle=("BỆNH VIỆN PHỤ SẢN HÀ NỘI",)),
    Profile("birth_witness_statement", ("VĂN BẢN XÁC NHẬN CỦA NGƯỜI LÀM CHỨNG",),
            (("Họ, chữ đệm, tên người làm chứng:", "name"), _BORN, _ID, _RES,
             ("Xác nhận việc sinh của:", "name"), ("Sinh ngày:", "date"), ("Tại:", "address"),
             ("Con của bà:", "name")),
            ("Người làm chứng xác nhận đã biết rõ sự việc sinh và chịu trách nhiệm về nội dung xác nhận.",
             "Tôi xin cam đoan những điều làm chứng trên đây là đúng sự thật.",
             "Việc làm chứng được lập khi không có giấy chứng sinh của cơ sở y tế."),
            ()),
    Profile("birth_self_declaration", ("GIẤY CAM ĐOAN VỀ VIỆC SINH",),
            (("Tôi là:", "name"), _BORN, _ID, _RES, ("Cam đoan về việc sinh của:", "name"),
             ("Sinh ngày:", "date"), ("Nơi sinh:", "address")),
            ("Tôi xin cam đoan việc sinh nêu trên là có thật và chịu trách nhiệm trước pháp luật.",
             "Trường hợp không có người làm chứng, người yêu cầu phải làm giấy cam đoan về việc sinh.",
             "Nếu cam đoan không đúng sự thật, tôi xin chịu hoàn toàn trách nhiệm."),
            ()),
    Profile("birth_certificate", ("GIẤY KHAI SINH", "BẢN SAO GIẤY KHAI SINH", "TRÍCH LỤC KHAI SINH"),
            (_P, _BORN, ("Ghi bằng chữ:", "date_words"), _SEX, _ETH, _NAT, _BPL, _HOME, _ID,
             ("Họ, chữ đệm, tên người mẹ:", "name"), ("Họ, chữ đệm, tên người cha:", "name"),
             ("Nơi đăng ký khai sinh:", "agency"), ("Ngày, tháng, năm đăng ký:", "date")),
            ("Sao từ Sổ đăng ký khai sinh.",
             "Bản sao được cấp từ sổ gốc có giá trị sử dụng thay cho bản chính.",
             "Người đi đăng ký khai sinh đã ký vào Sổ đăng ký khai sinh."),
            ("Số: {n}", "Quyển số: {n}"), issued=True),
    Profile("marriage_reg_form", ("TỜ KHAI ĐĂNG KÝ KẾT HÔN",),
            (("Kính gửi:", "agency"), ("Thông tin", "table_head"), ("Họ, chữ đệm, tên bên nữ:", "name"),
             ("Họ, chữ đệm, tên bên nam:", "name"), _BORN, _ETH, _NAT, _RES, _ID,
             ("Kết hôn lần thứ mấy:", "small")),
            ("Chúng tôi cam đoan những lời khai trên đây là đúng sự thật, việc kết hôn là tự nguyện.",
             "Chúng tôi đề nghị Ủy ban nhân dân đăng ký kết hôn cho chúng tôi.",
             "Hai bên nam, nữ cùng có mặt khi đăng ký kết hôn."),
            ("Mẫu số 02/HT",), layout="table"),
    Profile("marriage_certificate", ("GIẤY CHỨNG NHẬN KẾT HÔN",),
            (("Họ, chữ đệm, tên vợ:", "name"), ("Họ, chữ đệm, tên chồng:", "name"), _BORN, _ETH,
             _NAT, _ID, _RES, ("Ngày đăng ký:", "date"), ("Nơi đăng ký:", "agency")),
            ("Hai bên nam, nữ đã tự nguyện kết hôn và được đăng ký theo quy định.",
             "Giấy chứng nhận kết hôn được cấp một bản chính cho mỗi bên vợ, chồng.",
             "Chữ ký của vợ và chữ ký của chồng được ghi tại Sổ đăng ký kết hôn."),
            ("Số: {n}", "Quyển số: {n}"), issued=True, layout="table"),
    Profile("death_reg_form", ("TỜ KHAI ĐĂNG KÝ KHAI TỬ",),
            (("Kính gửi:", "agency"), ("Họ, chữ đệm, tên người yêu cầu:", "name"), _ID, _RES,
             ("Quan hệ với người đã chết:", "relation"), ("Họ, chữ đệm, tên người đã chết:", "name"),
             _BORN, _SEX, _ETH, ("Nơi cư trú cuối cùng:", "address"), ("Đã chết vào lúc:", "time"),
             ("Nơi chết:", "address"), ("Nguyên nhân chết:", "cause")),
            ("Tôi cam đoan những nội dung khai trên đây là đúng sự thật.",
             "Việc khai tử phải được thực hiện trong thời hạn mười lăm ngày kể từ ngày có người chết.",
             "Người đi đăng ký khai tử nộp giấy báo tử hoặc giấy tờ thay giấy báo tử."),
            ("Mẫu số 03/HT",)),
    Profile("death_notice", ("GIẤY BÁO TỬ",),
            (_P, _BORN, _SEX, _ETH, _ID, ("Nơi cư trú cuối cùng:", "address"),
             ("Đã chết vào lúc:", "time"), ("Nơi chết:", "hospital"), ("Nguyên nhân chết:", "cause")),
            ("Người chết đã được cơ sở y tế xác nhận nguyên nhân và thời điểm tử vong.",
             "Giấy báo tử là căn cứ để đăng ký khai tử tại Ủy ban nhân dân cấp xã.",
             "Thủ trưởng cơ sở y tế chịu trách nhiệm về nội dung giấy báo tử."),
            ("Mẫu số 02/BYT", "Số: {n}/GBT"), issued=True, subtitle=("BỆNH VIỆN BẠCH MAI",)),
    Profile("marital_status_form", ("TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",),
            (("Kính gửi:", "agency"), ("Họ, chữ đệm, tên người yêu cầu:", "name"), _ID, _RES,
             ("Quan hệ với người được cấp:", "relation"), _P, _BORN, _SEX, _ETH,
             ("Tình trạng hôn nhân:", "marital"), ("Mục đích sử dụng:", "purpose")),
            ("Đề nghị cơ quan cấp Giấy xác nhận tình trạng hôn nhân cho người có tên trên.",
             "Tôi cam đoan những nội dung khai trên đây là đúng sự thật.",
             "Giấy xác nhận tình trạng hôn nhân được sử dụng vào mục đích ghi trong tờ khai."),
            ("Mẫu số 04/HT",)),
    Profile("marital_status_cert", ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",),
            (_P, _BORN, _SEX, _ETH, _NAT, _ID, _RES, ("Tình trạng hôn nhân:", "marital"),
             ("Giấy này được cấp để:", "purpose"), ("Có giá trị sử dụng đến ngày:", "date")),
            ("Giấy này có giá trị sử dụng trong thời hạn sáu tháng kể từ ngày cấp.",
             "Giấy tờ này được cấp để làm thủ tục đăng ký kết hôn và không có giá trị sử dụng vào mục đích khác.",
             "Ủy ban nhân dân xác nhận trong thời gian cư trú tại địa phương người có tên trên chưa đăng ký kết hôn."),
            ("Số: {n}/XN-HT",), issued=True),
    Profile("divorce_decision",
            ("BẢN ÁN LY HÔN", "BẢN ÁN HÔN NHÂN VÀ GIA ĐÌNH SƠ THẨM VỀ LY HÔN",
             "QUYẾT ĐỊNH CÔNG NHẬN THUẬN TÌNH LY HÔN VÀ SỰ THỎA THUẬN CỦA CÁC ĐƯƠNG SỰ"),
            (("Nguyên đơn:", "name"), ("Bị đơn:", "name"), _RES, ("Thụ lý số:", "case"),
             ("Ngày thụ lý:", "date"), ("Thẩm phán:", "name")),
            ("Tòa án nhân dân quận xét thấy hai bên đương sự đã thực sự tự nguyện ly hôn.",
             "Công nhận thuận tình ly hôn giữa nguyên đơn và bị đơn.",
             "Quyết định này có hiệu lực pháp luật ngay và không bị kháng cáo, kháng nghị theo thủ tục phúc thẩm.",
             "Về con chung: giao con chung cho người mẹ trực tiếp trông nom, nuôi dưỡng."),
            ("Số: {n}/2025/QĐST-HNGĐ", "Bản án số: {n}/2025/HNGĐ-ST"), issued=True,
            subtitle=("TÒA ÁN NHÂN DÂN QUẬN CẦU GIẤY",)),
    Profile("civil_change_form", ("TỜ KHAI ĐĂNG KÝ THAY ĐỔI, CẢI CHÍNH, BỔ SUNG THÔNG TIN HỘ TỊCH",),
            (("Kính gửi:", "agency"), ("Họ, chữ đệm, tên người yêu cầu:", "name"), _ID, _RES,
             ("Đề nghị cơ quan đăng ký việc:", "change"), ("Nội dung thay đổi:", "change_text"),
             ("Lý do:", "reason"), ("Giấy tờ kèm theo:", "attach")),
            ("Nội dung thay đổi, cải chính phải có căn cứ và không làm ảnh hưởng đến quyền, lợi ích hợp pháp của người khác.",
             "Tôi cam đoan những nội dung khai trên đây là đúng sự thật.",
             "Thông tin hộ tịch đã đăng ký trước đây được ghi theo Giấy khai sinh số {n}."),
            ("Mẫu số 05/HT",)),
    Profile("citizen_id", ("CĂN CƯỚC CÔNG DÂN", "CĂN CƯỚC"), (), (), layout="card"),
    Profile("passport", ("HỘ CHIẾU", "PASSPORT"), (), (), layout="card"),
    Profile("authorization", ("GIẤY ỦY QUYỀN", "HỢP ĐỒNG ỦY QUYỀN"),
            (("Bên ủy quyền:", "name"), _ID, _RES, ("Bên được ủy quyền:", "name"), _ID, _RES,
             ("Nội dung ủy quyền:", "power"), ("Thời hạn ủy quyền:", "term")),
            ("Bên ủy quyền đồng ý ủy quyền cho bên được ủy quyền thực hiện việc nêu trên.",
             "Bên được ủy quyền chỉ thực hiện công việc trong phạm vi được ủy quyền.",
             "Hai bên cam kết chịu trách nhiệm trước pháp luật về nội dung ủy quyền.",
             "Văn bản ủy quyền được chứng thực chữ ký tại Ủy ban nhân dân {ward}."),
            ()),
    Profile("residence_change_form", ("TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",),
            (("Kính gửi:", "police"), _P, _BORN, _SEX, _ID, _TEL, ("Email:", "email"),
             ("Họ, chữ đệm, tên chủ hộ:", "name"), ("Quan hệ với chủ hộ:", "relation"),
             ("Nội dung đề nghị:", "residence"), ("Những thành viên trong hộ gia đình cùng thay đổi:", "blank")),
            ("Đề nghị cơ quan đăng ký cư trú giải quyết đăng ký thường trú theo quy định.",
             "Ý kiến của chủ hộ: đồng ý cho đăng ký thường trú tại chỗ ở hợp pháp nêu trên.",
             "Thông tin được cập nhật vào Cơ sở dữ liệu về cư trú sau khi hoàn tất thủ tục."),
            ("Mẫu CT01 ban hành kèm theo Thông tư số 66/2023/TT-BCA", "Mẫu CT01"), layout="table"),
    Profile("lease_agreement", ("HỢP ĐỒNG THUÊ NHÀ", "HỢP ĐỒNG CHO MƯỢN NHÀ", "HỢP ĐỒNG CHO Ở NHỜ"),
            (("Bên cho thuê (Bên A):", "name"), _ID, _RES, ("Bên thuê (Bên B):", "name"), _ID,
             ("Địa chỉ nhà cho thuê:", "address"), ("Diện tích sử dụng:", "area"),
             ("Giá thuê:", "money"), ("Thời hạn thuê:", "term")),
            ("Bên cho thuê cam kết nhà ở không có tranh chấp, khiếu kiện về quyền sở hữu và quyền sử dụng.",
             "Bên thuê có trách nhiệm sử dụng nhà đúng mục đích và thanh toán tiền thuê đầy đủ, đúng hạn.",
             "Thời hạn thuê nhà là {months} tháng, kể từ ngày hai bên ký kết hợp đồng.",
             "Điều 3. Quyền và nghĩa vụ của bên cho thuê nhà ở."),
            ()),
    Profile("land_certificate",
            ("GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU TÀI SẢN GẮN LIỀN VỚI ĐẤT",
             "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT",
             "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT"),
            (("Người sử dụng đất, chủ sở hữu tài sản:", "name"), _ID, _RES, ("Thửa đất số:", "parcel"),
             ("Tờ bản đồ số:", "sheet"), ("Địa chỉ thửa đất:", "address"), ("Diện tích:", "area"),
             ("Hình thức sử dụng:", "use_form"), ("Mục đích sử dụng:", "land_use"),
             ("Thời hạn sử dụng:", "land_term"), ("Nguồn gốc sử dụng:", "origin")),
            ("Thửa đất đã được sử dụng ổn định, phù hợp với quy hoạch sử dụng đất đã được phê duyệt.",
             "Những thay đổi sau khi cấp Giấy chứng nhận được ghi tại trang bổ sung.",
             "Người được cấp Giấy chứng nhận phải thực hiện đúng các quy định của pháp luật về đất đai."),
            ("Số vào sổ cấp GCN: CS{n}", "Số phát hành: {n}"), issued=True,
            subtitle=("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG",)),
    Profile("land_reg_application", ("ĐƠN ĐĂNG KÝ ĐẤT ĐAI, TÀI SẢN GẮN LIỀN VỚI ĐẤT",),
            (("Kính gửi:", "agency"), ("Người sử dụng đất:", "name"), _ID, _RES, ("Thửa đất số:", "parcel"),
             ("Tờ bản đồ số:", "sheet"), ("Diện tích:", "area"), ("Mục đích sử dụng:", "land_use"),
             ("Nguồn gốc sử dụng:", "origin"), ("Đề nghị:", "land_request")),
            ("Tôi cam đoan nội dung kê khai trên đơn là đúng sự thật, nếu sai tôi hoàn toàn chịu trách nhiệm.",
             "Ranh giới thửa đất được xác định theo hiện trạng sử dụng và không có tranh chấp với các hộ liền kề.",
             "Đề nghị cấp Giấy chứng nhận quyền sử dụng đất cho thửa đất nêu trên."),
            ("Mẫu số 04/ĐK", "Mẫu số 04a/ĐK"), layout="table"),
    Profile("cadastral_extract", ("TRÍCH LỤC BẢN ĐỒ ĐỊA CHÍNH", "MẢNH TRÍCH ĐO ĐỊA CHÍNH"),
            (("Thửa đất số:", "parcel"), ("Tờ bản đồ số:", "sheet"), ("Diện tích:", "area"),
             ("Mục đích sử dụng:", "land_use"), ("Địa chỉ:", "address")),
            ("Bảng tọa độ các đỉnh thửa theo hệ tọa độ VN-2000.",),
            ("Tỷ lệ 1:{scale}", "Số: {n}/TLBĐ"), issued=True, layout="map",
            subtitle=("VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI HÀ NỘI",)),
    Profile("tax_payment_receipt", ("GIẤY NỘP TIỀN VÀO NGÂN SÁCH NHÀ NƯỚC",),
            (("Người nộp thuế:", "name"), ("Mã số thuế:", "taxcode"), ("Địa chỉ:", "address"),
             ("Đề nghị NH/KBNN:", "bank"), ("Trích tài khoản số:", "account"),
             ("Nộp vào NSNN", "blank"), ("Tổng số tiền ghi bằng chữ:", "money_words")),
            ("Số tiền nộp vào ngân sách nhà nước được ghi bằng số và bằng chữ trên chứng từ.",
             "Kho bạc nhà nước ghi sổ ngày {date}.",
             "Nội dung các khoản nộp ngân sách nhà nước: lệ phí trước bạ nhà đất."),
            ("Mẫu số C1-02/NS", "Mã hiệu: C1-02/NS"), layout="table"),
    Profile("hkd_application", ("GIẤY ĐỀ NGHỊ ĐĂNG KÝ HỘ KINH DOANH",),
            (("Kính gửi:", "agency"), ("Tên hộ kinh doanh:", "business"), ("Địa chỉ trụ sở:", "address"),
             ("Ngành, nghề kinh doanh:", "trade"), ("Vốn kinh doanh:", "money"),
             ("Số lượng lao động:", "small"), ("Chủ hộ kinh doanh:", "name"), _ID, _TEL),
            ("Tôi cam kết bản thân không thuộc diện bị cấm thành lập hộ kinh doanh.",
             "Tôi chịu trách nhiệm trước pháp luật về tính hợp pháp, chính xác của nội dung đăng ký hộ kinh doanh.",
             "Hộ gia đình thống nhất cử một thành viên đại diện đứng tên đăng ký hộ kinh doanh."),
            ("Phụ lục III-1", "Mẫu số III-1"), layout="table"),
    Profile("family_minutes", ("BIÊN BẢN HỌP THÀNH VIÊN HỘ GIA ĐÌNH",),
            (("Thời gian họp:", "time"), ("Địa điểm họp:", "address"), ("Chủ trì:", "name"),
             ("Thư ký:", "name"), ("Thành phần tham dự:", "members")),
            ("Các thành viên tham dự cuộc họp đã nhất trí với toàn bộ nội dung được ghi trong biên bản.",
             "Cuộc họp thống nhất cử ông (bà) {name} làm chủ hộ kinh doanh.",
             "Biên bản kết thúc vào hồi {hour} giờ cùng ngày và được các thành viên thông qua."),
            (), layout="table"),
    Profile("building_permit_application", ("ĐƠN ĐỀ NGHỊ CẤP GIẤY PHÉP XÂY DỰNG",),
            (("Kính gửi:", "agency"), ("Tên chủ đầu tư:", "name"), _ID, _RES, _TEL,
             ("Địa điểm xây dựng:", "address"), ("Lô đất số:", "parcel"), ("Diện tích xây dựng:", "area"),
             ("Số tầng:", "small"), ("Chiều cao công trình:", "height")),
            ("Tôi xin cam kết làm theo đúng giấy phép được cấp, nếu sai tôi xin chịu trách nhiệm.",
             "Công trình được xây dựng theo đúng thiết kế đã được cơ quan có thẩm quyền thẩm định.",
             "Dự kiến thời gian hoàn thành công trình: {months} tháng."),
            ("Mẫu số 01", "Mẫu số 01 - Phụ lục II")),
    Profile("design_drawings", ("BẢN VẼ MẶT BẰNG TẦNG 1", "BẢN VẼ MẶT ĐỨNG", "BẢN VẼ MẶT CẮT A-A",
                                "BẢN VẼ MẶT BẰNG MÓNG", "BẢN VẼ TỔNG MẶT BẰNG"),
            (), (), ("Tỷ lệ 1:{scale}", "Bản vẽ số: KT-{n}"), layout="drawing"),
    Profile("building_permit", ("GIẤY PHÉP XÂY DỰNG",),
            (("Cấp cho:", "name"), ("Địa chỉ:", "address"), ("Được phép xây dựng công trình:", "building"),
             ("Theo thiết kế:", "design"), ("Lô đất số:", "parcel"), ("Diện tích xây dựng tầng 1:", "area"),
             ("Tổng diện tích sàn:", "area"), ("Chiều cao công trình:", "height"), ("Số tầng:", "small")),
            ("Giấy phép này có hiệu lực khởi công xây dựng trong thời hạn mười hai tháng kể từ ngày cấp.",
             "Chủ đầu tư có trách nhiệm thông báo ngày khởi công cho Ủy ban nhân dân cấp xã nơi xây dựng công trình.",
             "Chủ đầu tư phải thực hiện đúng giấy phép xây dựng và bản vẽ thiết kế kèm theo."),
            ("Số: {n}/GPXD", "Mẫu số 09"), issued=True),
    Profile("judicial_record_form", ("TỜ KHAI YÊU CẦU CẤP PHIẾU LÝ LỊCH TƯ PHÁP",),
            (("Kính gửi:", "justice"), _P, _BORN, _SEX, _BPL, _NAT, _ETH, _RES, _ID,
             ("Họ tên cha:", "name"), ("Họ tên mẹ:", "name"), ("Quá trình cư trú, nghề nghiệp:", "blank"),
             ("Loại phiếu yêu cầu cấp:", "record_type"), ("Số lượng phiếu:", "small")),
            ("Phiếu lý lịch tư pháp được cấp cho công dân để chứng minh tình trạng án tích của bản thân.",
             "Tôi xin cam đoan những lời khai trên là đúng sự thật và chịu trách nhiệm về lời khai của mình.",
             "Mục đích yêu cầu cấp phiếu lý lịch tư pháp: bổ sung hồ sơ xin việc."),
            ("Mẫu số 03/2024/TT-LLTP",)),
)

BY_TYPE: dict[str, Profile] = {p.doc_type: p for p in PROFILES}

_CHOICES: dict[str, tuple[str, ...]] = {
    "parent": ("Cha", "Mẹ", "Ông nội", "Bà ngoại"),
    "subject": ("Thu hồi đất để thực hiện dự án mở rộng đường giao thông",
                "Phê duyệt kế hoạch sử dụng đất năm 2026",
                "Tăng cường công tác cải cách thủ tục hành chính",
                "Giải quyết đơn kiến nghị của công dân"),
    "legal_basis": ("Luật Đất đai ngày 18 tháng 01 năm 2024", "Luật Tổ chức chính quyền địa phương"),
    "grade": ("Khá", "Giỏi", "Trung bình"),
    "relation": ("Vợ", "Chồng", "Con", "Cha", "Mẹ", "Anh ruột", "Chị ruột"),
    "marital": ("Chưa đăng ký kết hôn với ai", "Đã ly hôn, chưa kết hôn lại", "Có vợ/chồng"),
    "purpose": ("Đăng ký kết hôn", "Bổ sung hồ sơ mua nhà", "Vay vốn ngân hàng"),
    "cause": ("Bệnh lý", "Tuổi cao", "Tai nạn"),
    "change": ("Cải chính hộ tịch", "Bổ sung thông tin hộ tịch", "Thay đổi họ, chữ đệm, tên"),
    "change_text": ("Cải chính ngày sinh từ 12/05/1990 thành 21/05/1990", "Bổ sung quê quán"),
    "reason": ("Ghi sai khi đăng ký", "Theo nguyện vọng của người yêu cầu"),
    "attach": ("Bản sao Giấy khai sinh", "Giấy tờ chứng minh nội dung cải chính"),
    "power": ("Thay mặt bên ủy quyền nộp hồ sơ và nhận kết quả", "Làm thủ tục đăng ký khai sinh"),
    "term": ("06 tháng", "12 tháng", "Đến khi hoàn thành công việc"),
    "residence": ("Đăng ký thường trú", "Đăng ký thường trú vào chỗ ở hợp pháp do thuê"),
    "use_form": ("Sử dụng riêng", "Sử dụng chung"),
    "land_use": ("Đất ở tại đô thị", "Đất ở tại nông thôn", "Đất trồng cây lâu năm"),
    "land_term": ("Lâu dài", "Đến ngày 15/10/2063"),
    "origin": ("Nhà nước công nhận quyền sử dụng đất", "Nhận chuyển nhượng", "Được thừa kế"),
    "land_request": ("Đăng ký quyền sử dụng đất", "Cấp GCN đối với thửa đất"),
    "bank": ("Ngân hàng Nông nghiệp và Phát triển Nông thôn", "Kho bạc Nhà nước Đống Đa"),
    "trade": ("Bán lẻ tạp hóa", "Dịch vụ ăn uống", "Sửa chữa xe máy"),
    "business": ("Hộ kinh doanh Minh Anh", "Cửa hàng Phúc Lộc", "Tạp hóa Thu Hà"),
    "members": ("05 thành viên hộ gia đình", "04 người, đủ các thành viên"),
    "building": ("Nhà ở riêng lẻ", "Nhà ở gia đình 4 tầng"),
    "design": ("Bản vẽ thiết kế do Công ty Tư vấn Xây dựng Hà Thành lập",),
    "record_type": ("Phiếu số 1", "Phiếu số 2"),
    "agency": ("Ủy ban nhân dân phường Dịch Vọng", "Ủy ban nhân dân phường Kim Mã",
               "Ủy ban nhân dân xã Kim Chung"),
    "police": ("Công an phường Dịch Vọng", "Công an phường Láng Thượng"),
    "justice": ("Sở Tư pháp thành phố Hà Nội",),
    "hospital": ("Bệnh viện Phụ sản Hà Nội", "Bệnh viện Bạch Mai", "Bệnh viện Đa khoa Xanh Pôn"),
    "ethnicity": texts.ETHNICITIES,
    "occupation": texts.OCCUPATIONS,
}


def field_value(kind: str, rng: random.Random, person: texts.Person) -> str:
    """A plausible value for a field of the given kind."""
    if kind in _CHOICES:
        return rng.choice(_CHOICES[kind])
    simple = {
        "name": lambda: texts.full_name(rng, rng.choice(("Nam", "Nữ"))),
        "date": lambda: texts.format_date(texts.random_date(rng, 1960, 2026)),
        "sex": lambda: person.sex,
        "nationality": lambda: "Việt Nam",
        "id": lambda: person.id_number,
        "address": lambda: texts.hanoi_address(rng),
        "birthplace": lambda: person.birthplace,
        "hometown": lambda: person.hometown,
        "phone": lambda: person.phone,
        "year": lambda: str(rng.randint(1970, 2005)),
        "small": lambda: f"{rng.randint(1, 5):02d}",
        "time": lambda: f"{rng.randint(0, 23):02d} giờ {rng.randint(0, 59):02d} phút, ngày "
        + texts.format_date(texts.random_date(rng, 2025, 2026)),
        "weight": lambda: f"{rng.randint(2400, 4200)} gam",
        "area": lambda: f"{rng.randint(30, 400)},{rng.randint(0, 9)} m²",
        "money": lambda: f"{rng.randint(2, 900) * 100_000:,} đồng".replace(",", "."),
        "parcel": lambda: str(rng.randint(1, 999)),
        "sheet": lambda: str(rng.randint(1, 80)),
        "case": lambda: f"{rng.randint(10, 900)}/2025/TLST-HNGĐ",
        "taxcode": lambda: f"{rng.randint(10**9, 10**10 - 1)}",
        "account": lambda: f"{rng.randint(10**11, 10**12 - 1)}",
        "email": lambda: f"nguoidan{rng.randint(1, 999)}@gmail.com",
        "height": lambda: f"{rng.randint(7, 20)},{rng.randint(0, 9)} m",
        "date_words": lambda: rng.choice(("Ngày mười hai tháng năm năm hai nghìn hai mươi sáu",
                                          "Ngày ba tháng mười năm hai nghìn hai mươi lăm")),
        "money_words": lambda: rng.choice(("Năm trăm nghìn đồng chẵn", "Hai triệu ba trăm nghìn đồng")),
        "blank": lambda: "",
        "table_head": lambda: "Bên nữ / Bên nam",
    }
    fn = simple.get(kind)
    return fn() if fn else texts.full_name(rng, person.sex)


def fill(template: str, rng: random.Random) -> str:
    ward, district = texts.ward_and_district(rng)
    return texts.nfc(template.format(
        n=rng.randint(1, 999), ward=f"{ward}, {district}", months=rng.choice(("sáu", "mười hai")),
        date=texts.format_date(texts.random_date(rng, 2025, 2026)), scale=rng.choice((100, 200, 500, 1000)),
        name=texts.full_name(rng, rng.choice(("Nam", "Nữ"))), hour=rng.randint(9, 17),
    ))


def typed_fields(profile: Profile, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """``n`` labelled fields of the profile (in order, cycling when more are asked for)."""
    person = texts.random_person(rng)
    if not profile.fields:
        return texts.form_fields(rng, n, person)
    out: list[tuple[str, str]] = []
    k = 0
    while len(out) < n:
        label, kind = profile.fields[k % len(profile.fields)]
        out.append((texts.nfc(label), texts.nfc(field_value(kind, rng, person))))
        k += 1
    return out


def typed_paragraphs(profile: Profile, rng: random.Random, n: int) -> list[str]:
    """Paragraphs mixing the type's own sentences (about half) with generic prose."""
    used: set[int] = set()
    own = list(profile.sentences)
    rng.shuffle(own)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(2, 4)):
            if own and rng.random() < 0.5:
                parts.append(fill(own.pop(), rng))
            else:
                parts.append(texts.sentence(rng, used))
        out.append(" ".join(parts))
    return out
