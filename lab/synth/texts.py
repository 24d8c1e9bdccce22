"""Vietnamese text material for synthetic administrative pages (all synthetic, all NFC).

Names, Hà Nội addresses, dates, 12-digit personal ID numbers, labelled form
fields and administrative prose. Every function takes a ``random.Random`` so
that a page seed fully determines its text. Nothing here is real personal data.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_SUB = "Độc lập - Tự do - Hạnh phúc"

SURNAMES = (
    "Nguyễn",
    "Nguyễn",
    "Nguyễn",
    "Trần",
    "Trần",
    "Lê",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Trịnh",
)
MIDDLE_MALE = ("Văn", "Minh", "Hữu", "Đức", "Quang", "Xuân", "Gia", "Bảo", "Thành", "Công")
MIDDLE_FEMALE = ("Thị", "Thị", "Ngọc", "Thu", "Hồng", "Thanh", "Kim", "Minh", "Phương", "Mai")
GIVEN_MALE = (
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hải",
    "Hiếu",
    "Hùng",
    "Khánh",
    "Long",
    "Nam",
    "Phong",
    "Phúc",
    "Quân",
    "Sơn",
    "Tuấn",
    "Thắng",
    "Trung",
    "Việt",
    "Đạt",
    "Huy",
    "Lâm",
    "Toàn",
)
GIVEN_FEMALE = (
    "Anh",
    "Giang",
    "Hà",
    "Hạnh",
    "Hoa",
    "Hương",
    "Lan",
    "Linh",
    "Mai",
    "Ngân",
    "Tâm",
    "Thảo",
    "Trang",
    "Vy",
    "Yến",
    "Hằng",
    "Nhung",
    "Quyên",
    "Thủy",
    "Loan",
    "Duyên",
    "Hiền",
)

#: quận/huyện of Hà Nội -> phường/xã/thị trấn in it
HANOI_WARDS: dict[str, tuple[str, ...]] = {
    "quận Ba Đình": (
        "phường Phúc Xá",
        "phường Trúc Bạch",
        "phường Cống Vị",
        "phường Liễu Giai",
        "phường Ngọc Hà",
        "phường Kim Mã",
        "phường Giảng Võ",
    ),
    "quận Hoàn Kiếm": (
        "phường Hàng Bạc",
        "phường Hàng Bồ",
        "phường Hàng Đào",
        "phường Tràng Tiền",
        "phường Cửa Nam",
        "phường Lý Thái Tổ",
    ),
    "quận Đống Đa": (
        "phường Cát Linh",
        "phường Văn Miếu",
        "phường Quốc Tử Giám",
        "phường Láng Thượng",
        "phường Ô Chợ Dừa",
        "phường Khâm Thiên",
    ),
    "quận Cầu Giấy": (
        "phường Dịch Vọng",
        "phường Dịch Vọng Hậu",
        "phường Mai Dịch",
        "phường Nghĩa Đô",
        "phường Quan Hoa",
        "phường Yên Hòa",
    ),
    "quận Hai Bà Trưng": (
        "phường Bạch Đằng",
        "phường Bách Khoa",
        "phường Lê Đại Hành",
        "phường Minh Khai",
        "phường Thanh Nhàn",
        "phường Vĩnh Tuy",
    ),
    "quận Thanh Xuân": (
        "phường Khương Đình",
        "phường Nhân Chính",
        "phường Thượng Đình",
        "phường Kim Giang",
        "phường Thanh Xuân Bắc",
    ),
    "quận Hoàng Mai": (
        "phường Đại Kim",
        "phường Định Công",
        "phường Giáp Bát",
        "phường Hoàng Liệt",
        "phường Tương Mai",
    ),
    "quận Long Biên": (
        "phường Bồ Đề",
        "phường Gia Thụy",
        "phường Ngọc Lâm",
        "phường Phúc Đồng",
        "phường Thạch Bàn",
    ),
    "quận Tây Hồ": (
        "phường Bưởi",
        "phường Nhật Tân",
        "phường Quảng An",
        "phường Thụy Khuê",
        "phường Xuân La",
    ),
    "quận Hà Đông": (
        "phường Mộ Lao",
        "phường Văn Quán",
        "phường Vạn Phúc",
        "phường Yết Kiêu",
        "phường La Khê",
    ),
    "huyện Đông Anh": ("xã Kim Chung", "xã Vân Nội", "xã Hải Bối", "thị trấn Đông Anh"),
    "huyện Gia Lâm": ("xã Bát Tràng", "xã Đa Tốn", "xã Kiêu Kỵ", "thị trấn Trâu Quỳ"),
}
STREETS = (
    "phố Kim Mã",
    "đường Láng",
    "phố Huế",
    "đường Giải Phóng",
    "phố Trần Duy Hưng",
    "đường Nguyễn Trãi",
    "phố Tôn Đức Thắng",
    "đường Hoàng Quốc Việt",
    "phố Xuân Thủy",
    "đường Cầu Giấy",
    "đường Lạc Long Quân",
    "đường Nguyễn Văn Cừ",
    "phố Bà Triệu",
    "phố Thái Hà",
    "đường Trường Chinh",
    "phố Đội Cấn",
    "ngõ Văn Chương",
    "phố Chùa Bộc",
)
#: province codes used in personal ID numbers (Hà Nội dominates)
PROVINCES = (
    ("001", "Hà Nội"),
    ("001", "Hà Nội"),
    ("001", "Hà Nội"),
    ("031", "Hải Phòng"),
    ("036", "Nam Định"),
    ("034", "Thái Bình"),
    ("038", "Thanh Hóa"),
    ("040", "Nghệ An"),
    ("030", "Hải Dương"),
    ("079", "TP. Hồ Chí Minh"),
    ("035", "Hà Nam"),
)
ETHNICITIES = ("Kinh", "Kinh", "Kinh", "Kinh", "Kinh", "Tày", "Mường", "Thái", "Nùng")
OCCUPATIONS = (
    "Giáo viên",
    "Kỹ sư",
    "Công nhân",
    "Nhân viên văn phòng",
    "Kinh doanh",
    "Nông dân",
    "Bác sĩ",
    "Công chức",
    "Hưu trí",
    "Lao động tự do",
)
RELATIONS = ("Cha", "Mẹ", "Ông nội", "Bà ngoại", "Anh ruột", "Chị ruột", "Người được ủy quyền")

#: administrative prose; ``{...}`` placeholders are filled from the page's random state
SENTENCES = (
    "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước "
    "pháp luật về lời cam đoan của mình.",
    "Đề nghị cơ quan có thẩm quyền xem xét, giải quyết hồ sơ theo đúng quy định của pháp "
    "luật hiện hành.",
    "Hồ sơ được nộp trực tiếp tại Bộ phận tiếp nhận và trả kết quả của Ủy ban nhân dân {ward}.",
    "Người yêu cầu có trách nhiệm xuất trình bản chính giấy tờ tùy thân để đối chiếu khi nộp "
    "hồ sơ.",
    "Trong thời hạn {days} ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ, cơ quan tiếp nhận có "
    "trách nhiệm trả kết quả.",
    "Trường hợp hồ sơ chưa đầy đủ, cán bộ tiếp nhận hướng dẫn người nộp bổ sung, hoàn thiện "
    "theo quy định.",
    "Thông tin về cá nhân được cập nhật vào Cơ sở dữ liệu quốc gia về dân cư sau khi hoàn tất "
    "thủ tục.",
    "Bản sao giấy tờ phải được chứng thực hoặc xuất trình kèm bản chính để cán bộ tiếp nhận "
    "kiểm tra.",
    "Việc đăng ký được thực hiện tại Ủy ban nhân dân nơi cư trú của cha hoặc mẹ.",
    "Người được ủy quyền phải có văn bản ủy quyền hợp lệ theo quy định của pháp luật về công "
    "chứng, chứng thực.",
    "Lệ phí được nộp theo mức thu do Hội đồng nhân dân thành phố Hà Nội quy định.",
    "Cơ quan giải quyết có trách nhiệm bảo mật thông tin cá nhân của người yêu cầu trong quá "
    "trình xử lý hồ sơ.",
    "Kết quả giải quyết thủ tục hành chính được trả trực tiếp hoặc qua dịch vụ bưu chính công ích.",
    "Hồ sơ điện tử có giá trị pháp lý như hồ sơ giấy khi được ký số theo quy định.",
    "Công chức tư pháp - hộ tịch kiểm tra tính hợp lệ của giấy tờ trước khi trình lãnh đạo ký "
    "duyệt.",
    "Người đi đăng ký phải ký, ghi rõ họ tên vào Sổ đăng ký và tờ khai.",
    "Nội dung thay đổi, cải chính phải có căn cứ và không làm ảnh hưởng đến quyền, lợi ích hợp "
    "pháp của người khác.",
    "Ủy ban nhân dân {ward} đã tiến hành xác minh và xác nhận thông tin nêu trên là đúng.",
    "Văn bản này được lập thành {copies} bản có giá trị pháp lý như nhau, mỗi bên giữ một bản.",
    "Bên cho thuê cam kết nhà ở không có tranh chấp, khiếu kiện về quyền sở hữu và quyền sử dụng.",
    "Bên thuê có trách nhiệm sử dụng nhà đúng mục đích và thanh toán tiền thuê đầy đủ, đúng hạn.",
    "Thời hạn thuê nhà là {months} tháng, kể từ ngày hai bên ký kết hợp đồng.",
    "Thửa đất đã được sử dụng ổn định, phù hợp với quy hoạch sử dụng đất đã được phê duyệt.",
    "Ranh giới thửa đất được xác định theo hiện trạng sử dụng và không có tranh chấp với các "
    "hộ liền kề.",
    "Hộ gia đình thống nhất cử một thành viên đại diện đứng tên đăng ký hộ kinh doanh.",
    "Các thành viên tham dự cuộc họp đã nhất trí với toàn bộ nội dung được ghi trong biên bản.",
    "Công trình được xây dựng theo đúng thiết kế đã được cơ quan có thẩm quyền thẩm định.",
    "Chủ đầu tư có trách nhiệm thông báo ngày khởi công cho Ủy ban nhân dân cấp xã nơi xây "
    "dựng công trình.",
    "Giấy tờ này được cấp để làm thủ tục đăng ký kết hôn và không có giá trị sử dụng vào mục "
    "đích khác.",
    "Người chết đã được cơ sở y tế xác nhận nguyên nhân và thời điểm tử vong.",
    "Việc khai tử phải được thực hiện trong thời hạn mười lăm ngày kể từ ngày có người chết.",
    "Trẻ em được đăng ký khai sinh trong thời hạn sáu mươi ngày kể từ ngày sinh.",
    "Người làm chứng xác nhận đã biết rõ sự việc sinh và chịu trách nhiệm về nội dung xác nhận.",
    "Số tiền nộp vào ngân sách nhà nước được ghi bằng số và bằng chữ trên chứng từ.",
    "Trường hợp từ chối giải quyết, cơ quan tiếp nhận phải trả lời bằng văn bản và nêu rõ lý do.",
    "Mọi thắc mắc xin liên hệ Bộ phận một cửa {district} trong giờ hành chính các ngày làm việc.",
    "Tổ chức, cá nhân có quyền phản ánh, kiến nghị về quy định hành chính theo quy định của "
    "pháp luật.",
    "Phiếu lý lịch tư pháp được cấp cho công dân để chứng minh tình trạng án tích của bản thân.",
    "Đề nghị cấp bản sao trích lục để phục vụ việc bổ sung hồ sơ cá nhân tại nơi công tác.",
    "Thông tin trong tờ khai được đối chiếu với dữ liệu hộ tịch điện tử trước khi cấp kết quả.",
    "Người yêu cầu nhận kết quả có trách nhiệm kiểm tra nội dung trước khi ký nhận.",
    "Xác nhận của cơ quan có thẩm quyền có giá trị trong thời hạn sáu tháng kể từ ngày cấp.",
    "Hồ sơ đã được tiếp nhận ngày {date} và được ghi vào sổ theo dõi với số {number}.",
    "Ông (bà) {name} hiện đang cư trú tại {address}.",
)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class Person:
    """A synthetic person (consistent name, sex, birth date and ID number)."""

    full_name: str
    sex: str  # "Nam" | "Nữ"
    birth_date: dt.date
    id_number: str
    ethnicity: str
    nationality: str
    address: str
    birthplace: str
    hometown: str
    occupation: str
    phone: str


def full_name(rng: random.Random, sex: str) -> str:
    male = sex == "Nam"
    middle = rng.choice(MIDDLE_MALE if male else MIDDLE_FEMALE)
    given = rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
    name = f"{rng.choice(SURNAMES)} {middle} {given}"
    if rng.random() < 0.2:  # some people have two middle names
        extra = rng.choice(MIDDLE_MALE if male else MIDDLE_FEMALE)
        if extra != middle:
            name = f"{rng.choice(SURNAMES)} {middle} {extra} {given}"
    return nfc(name)


def ward_and_district(rng: random.Random) -> tuple[str, str]:
    district = rng.choice(sorted(HANOI_WARDS))
    return rng.choice(HANOI_WARDS[district]), district


def hanoi_address(rng: random.Random) -> str:
    ward, district = ward_and_district(rng)
    number = rng.randint(1, 320)
    if rng.random() < 0.4:
        house = f"Số {number}, ngõ {rng.randint(2, 180)}, {rng.choice(STREETS)}"
    else:
        house = f"Số {number} {rng.choice(STREETS)}"
    return nfc(f"{house}, {ward}, {district}, thành phố Hà Nội")


def id_number(rng: random.Random, birth_year: int, sex: str, province: str = "001") -> str:
    """12 digits: province code (3), century/sex digit, birth year (2), 6 random digits."""
    century = 0 if birth_year < 2000 else 2 if birth_year < 2100 else 4
    digit = century + (1 if sex == "Nữ" else 0)
    return f"{province}{digit}{birth_year % 100:02d}{rng.randint(0, 999_999):06d}"


def random_date(rng: random.Random, start_year: int, end_year: int) -> dt.date:
    start = dt.date(start_year, 1, 1).toordinal()
    end = dt.date(end_year, 12, 31).toordinal()
    return dt.date.fromordinal(rng.randint(start, end))


def format_date(d: dt.date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def date_line(rng: random.Random, year: int = 2026, place: str = "Hà Nội") -> str:
    d = random_date(rng, year, year)
    return nfc(f"{place}, ngày {d.day:02d} tháng {d.month:02d} năm {d.year}")


def _birthplace(rng: random.Random, code: str, province: str) -> str:
    if code != "001":
        return nfc(f"Bệnh viện Đa khoa {province}" if rng.random() < 0.5 else province)
    ward, district = ward_and_district(rng)
    if rng.random() < 0.5:
        return nfc(f"Bệnh viện Phụ sản Hà Nội, {district}, thành phố Hà Nội")
    return nfc(f"{ward}, {district}, thành phố Hà Nội")


def random_person(rng: random.Random, *, min_year: int = 1950, max_year: int = 2025) -> Person:
    sex = rng.choice(("Nam", "Nữ"))
    born = random_date(rng, min_year, max_year)
    code, province = rng.choice(PROVINCES)
    return Person(
        full_name=full_name(rng, sex),
        sex=sex,
        birth_date=born,
        id_number=id_number(rng, born.year, sex, code),
        ethnicity=rng.choice(ETHNICITIES),
        nationality="Việt Nam",
        address=hanoi_address(rng),
        birthplace=_birthplace(rng, code, province),
        hometown=nfc(province if code != "001" else f"{ward_and_district(rng)[1]}, Hà Nội"),
        occupation=rng.choice(OCCUPATIONS),
        phone=f"09{rng.randint(0, 99_999_999):08d}",
    )


_FIELDS: tuple[tuple[str, Callable[[Person, random.Random], str]], ...] = (
    ("Họ, chữ đệm, tên:", lambda p, r: p.full_name),
    ("Ngày, tháng, năm sinh:", lambda p, r: format_date(p.birth_date)),
    ("Giới tính:", lambda p, r: p.sex),
    ("Dân tộc:", lambda p, r: p.ethnicity),
    ("Quốc tịch:", lambda p, r: p.nationality),
    ("Số định danh cá nhân:", lambda p, r: p.id_number),
    ("Nơi sinh:", lambda p, r: p.birthplace),
    ("Quê quán:", lambda p, r: p.hometown),
    ("Nơi cư trú:", lambda p, r: p.address),
    ("Nghề nghiệp:", lambda p, r: p.occupation),
    ("Số điện thoại:", lambda p, r: p.phone),
    ("Quan hệ với người được đăng ký:", lambda p, r: r.choice(RELATIONS)),
    ("Ngày nộp hồ sơ:", lambda p, r: format_date(random_date(r, 2026, 2026))),
    ("Số hồ sơ:", lambda p, r: f"{r.randint(1, 9999):04d}/2026/HT"),
)


def form_fields(rng: random.Random, n: int, person: Person | None = None) -> list[tuple[str, str]]:
    """``n`` (label, value) pairs in form order; the name always comes first."""
    person = person or random_person(rng)
    out: list[tuple[str, str]] = []
    while len(out) < n:
        k = min(n - len(out), len(_FIELDS))
        picked = [0, *sorted(rng.sample(range(1, len(_FIELDS)), k - 1))] if k > 1 else [0]
        out += [(nfc(_FIELDS[i][0]), nfc(_FIELDS[i][1](person, rng))) for i in picked]
        person = random_person(rng)  # a second person when many fields are asked for
    return out[:n]


def sentence(rng: random.Random, used: set[int] | None = None) -> str:
    """One sentence from SENTENCES with its placeholders filled.

    ``used`` (template indexes already on the page) is avoided while possible and updated.
    """
    choices = [i for i in range(len(SENTENCES)) if used is None or i not in used]
    index = rng.choice(choices or range(len(SENTENCES)))
    if used is not None:
        used.add(index)
    ward, district = ward_and_district(rng)
    fill = {
        "ward": f"{ward}, {district}",
        "district": district,
        "days": rng.choice(("ba", "năm", "bảy", "mười")),
        "copies": rng.choice(("hai", "ba", "bốn")),
        "months": rng.choice(("sáu", "mười hai", "hai mươi bốn", "ba mươi sáu")),
        "date": format_date(random_date(rng, 2025, 2026)),
        "number": f"{rng.randint(1, 999):03d}/{rng.randint(2025, 2026)}",
        "name": full_name(rng, rng.choice(("Nam", "Nữ"))),
        "address": hanoi_address(rng),
    }
    return nfc(SENTENCES[index].format(**fill))


def paragraph(
    rng: random.Random, sentences: int | None = None, used: set[int] | None = None
) -> str:
    """2-4 sentences (or ``sentences``), no template twice on a page sharing ``used``."""
    count = sentences if sentences is not None else rng.randint(2, 4)
    used = set() if used is None else used
    return " ".join(sentence(rng, used) for _ in range(count))


def paragraphs(rng: random.Random, n: int) -> list[str]:
    used: set[int] = set()
    return [paragraph(rng, used=used) for _ in range(n)]


def agency_header(rng: random.Random) -> tuple[str, str]:
    """Two upper-case lines of an issuing agency, e.g. ("ỦY BAN NHÂN DÂN", "PHƯỜNG KIM MÃ")."""
    ward, district = ward_and_district(rng)
    if rng.random() < 0.75:
        return "ỦY BAN NHÂN DÂN", nfc(ward.upper())
    return "ỦY BAN NHÂN DÂN", nfc(district.upper())


def document_number(rng: random.Random) -> str:
    return f"Số: {rng.randint(1, 999)}/{rng.choice(('UBND-TP', 'QĐ-UBND', 'TLKS', 'GP'))}"
