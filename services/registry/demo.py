"""Deterministic demo district shaped like Lingling District (零陵区, 431102).

The registry importer, the e2e tests and local demos need a realistic district without real
personal data: 16 townships and streets, 334 villages and communities, the three-level contact
loop (leader -> area, workstation -> township, member -> village), liaisons, cadres, experts,
departments and liaison trainings. A few coverage gaps are planted on purpose so that the
loop-invariant report has something to find; they are exported as ``GAP_*`` constants.

Rows are plain ``dict[str, str]`` exactly as ``csv.DictReader`` would yield them from the
files written by :func:`write_csv`, so the importer can be tested on either. All names and
phone numbers are generated and fictional.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import math
import pathlib
import random
from dataclasses import dataclass, field

DISTRICT_CODE = "431102"
SEED = 20200730
DEMO_PASSWORD = "yuelihui-demo"  # noqa: S105 - published demo credential, not a secret

# Import order: every kind only refers to kinds before it.
KINDS = ("townships", "villages", "workstations", "people", "links", "trainings")

COLUMNS = {
    "townships": ["code", "name", "kind"],
    "villages": ["code", "name", "township_code", "kind", "pilot", "consultation_room"],
    "workstations": ["id", "name", "sector", "annual_budget_yuan"],
    "people": [
        "id",
        "name",
        "role",
        "phone",
        "village_code",
        "sector",
        "workstation_id",
        "source",
        "post",
        "department",
        "field",
    ],
    "links": ["kind", "subject_id", "target_code"],
    "trainings": ["id", "date", "subject", "township_code", "attendees"],
}

# (name, number of villages and communities). Streets come first and get codes 001..005,
# towns and xiang get 100 upwards. The counts add up to Lingling's 334.
_STREETS = (
    ("朝阳街道", 14),
    ("南津渡街道", 16),
    ("七里店街道", 18),
    ("徐家井街道", 12),
    ("石山脚街道", 20),
)
_TOWNS = (
    ("接履桥镇", 26),
    ("石岩头镇", 25),
    ("富家桥镇", 28),
    ("菱角塘镇", 24),
    ("邮亭圩镇", 30),
    ("黄田铺镇", 22),
    ("水口山镇", 20),
    ("珠山镇", 18),
    ("梳子铺乡", 23),
    ("大庆坪乡", 19),
    ("凼底乡", 19),
)
_PILOTS = (("石烟塘村", "富家桥镇"), ("永连村", "邮亭圩镇"))
_GAP_WORKSTATION_TOWNSHIP = "凼底乡"
_GAP_LEADER_TOWNSHIP = "石山脚街道"
# Share of a street's units that are urban communities; the rest are villages.
_STREET_COMMUNITY_SHARE = 0.6

# Village stems are first char + second char; combinations give far more than 334.
_STEM_FIRST = "石竹黄白枫桐杉梅荷莲柳桃松茶新大小上下东西南北高龙凤金水田双长青马牛杨杏花麻"
_STEM_SECOND = "塘冲坪岭桥湾田山江源溪井铺口岗洲坝林园湖"

_SECTORS = (
    ("农业", "农业和农村界"),
    ("经济", "经济界"),
    ("教育", "教育界"),
    ("医药卫生", "医药卫生界"),
    ("社会福利和社会保障", "社会福利和社会保障界"),
    ("科技", "科技界"),
    ("中共", "中共界"),
    ("无党派人士", "无党派人士界"),
)
_WORKSTATION_BUDGET = "20000.00"

_DEPARTMENTS = (
    "区自然资源局",
    "区农业农村局",
    "区民政局",
    "区水利局",
    "区住房和城乡建设局",
    "区交通运输局",
    "区人力资源和社会保障局",
    "区卫生健康局",
    "区司法局",
    "区信访局",
)
_EXPERTS = (
    ("区农业农村局", "农业技术"),
    ("区农业农村局", "畜牧兽医"),
    ("区自然资源局", "土地管理"),
    ("区自然资源局", "宅基地审批"),
    ("区水利局", "农田水利"),
    ("区住房和城乡建设局", "农村危房改造"),
    ("区交通运输局", "农村公路"),
    ("区民政局", "社会救助"),
    ("区人力资源和社会保障局", "社会保障"),
    ("区卫生健康局", "基层医疗"),
    ("区司法局", "人民调解"),
    ("区信访局", "信访政策"),
)
_TRAINING_SUBJECTS = (
    "政协联络员理论业务培训",
    "社情民意信息收集与报送培训",
    "协商议事室管理培训",
    "村务民主协商监督月例会操作规程培训",
    "小微权力清单与村务公开培训",
)

_SURNAMES = "唐蒋李刘陈周王张邓胡杨黄何彭谢罗吴曾伍邹雷龚文秦欧"
_GIVEN = "建国华明军平志勇伟红英芳丽秀兰桂春海涛强斌林玲霞德忠文武金云辉峰俊敏静燕梅萍晓永新"
_PHONE_PREFIXES = ("13", "15", "18")
_LIAISON_SOURCES = ("capable_local", "reserve_cadre", "grid_worker")
# Villages per contact member: about 331 covered villages / 6 gives about 60 members.
_VILLAGES_PER_MEMBER = 6


@dataclass
class _Demo:
    """Everything generated in one pass, so rows and exported constants agree."""

    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    pilot_villages: dict[str, str] = field(default_factory=dict)
    gap_villages_without_member: tuple[str, ...] = ()
    gap_villages_without_liaison: tuple[str, ...] = ()
    gap_townships_without_workstation: tuple[str, ...] = ()
    gap_townships_outside_leader_area: tuple[str, ...] = ()
    accounts: list[dict] = field(default_factory=list)


def _row(table: str, /, **values: str) -> dict[str, str]:
    """A row with every column of ``table`` present, '' where the role does not use it."""
    unknown = set(values) - set(COLUMNS[table])
    if unknown:
        raise ValueError(f"unknown {table} columns: {sorted(unknown)}")
    return {column: values.get(column, "") for column in COLUMNS[table]}


class _People:
    """Allocates person ids, names and unique fictional phone numbers in generation order."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._phones: set[str] = set()
        self.rows: list[dict[str, str]] = []

    def _name(self) -> str:
        given_length = self._rng.choice((1, 2, 2))
        given = "".join(self._rng.choice(_GIVEN) for _ in range(given_length))
        return self._rng.choice(_SURNAMES) + given

    def _phone(self) -> str:
        # About one person in ten has no phone on file, as in real rosters.
        if self._rng.random() < 0.1:
            return ""
        while True:
            phone = self._rng.choice(_PHONE_PREFIXES) + f"{self._rng.randrange(10**9):09d}"
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def add(self, role: str, *, name: str = "", **values: str) -> str:
        """Append an individual (or, with ``name``, an organisation) and return its id."""
        person_id = f"P{len(self.rows) + 1:04d}"
        if name:
            phone = ""
        else:
            name, phone = self._name(), self._phone()
        self.rows.append(_row("people", id=person_id, name=name, role=role, phone=phone, **values))
        return person_id


def _townships() -> list[dict[str, str]]:
    """Streets get codes 001.., towns and xiang 100.., as in the statistical division codes."""
    rows = [
        _row("townships", code=f"{DISTRICT_CODE}{i:03d}", name=name, kind="street")
        for i, (name, _) in enumerate(_STREETS, start=1)
    ]
    rows += [
        _row("townships", code=f"{DISTRICT_CODE}{i:03d}", name=name, kind="township")
        for i, (name, _) in enumerate(_TOWNS, start=100)
    ]
    return rows


def _villages(rng: random.Random, townships: list[dict[str, str]]) -> list[dict[str, str]]:
    """Villages and communities numbered 001.. per township, names unique district-wide."""
    counts = dict(_STREETS + _TOWNS)
    pilot_names = {name for name, _ in _PILOTS}
    stems = [a + b for a in _STEM_FIRST for b in _STEM_SECOND if a != b]
    stems = [s for s in stems if s + "村" not in pilot_names]
    rng.shuffle(stems)
    rows = []
    for township in townships:
        count = counts[township["name"]]
        if township["kind"] == "street":
            communities = math.ceil(count * _STREET_COMMUNITY_SHARE)
        else:
            # A town (镇) has one community at its seat; a xiang (乡) has none.
            communities = 1 if township["name"].endswith("镇") else 0
        names = [stems.pop() + ("社区" if i < communities else "村") for i in range(count)]
        # Each pilot replaces an ordinary village at a random position in its township.
        for pilot, pilot_township in _PILOTS:
            if pilot_township == township["name"]:
                names[rng.randrange(communities, count)] = pilot
        for number, name in enumerate(names, start=1):
            rows.append(
                _row(
                    "villages",
                    code=f"{township['code']}{number:03d}",
                    name=name,
                    township_code=township["code"],
                    kind="community" if name.endswith("社区") else "village",
                    pilot="true" if name in pilot_names else "false",
                    consultation_room=f"{name}协商议事室",
                )
            )
    return rows


def _workstation_links(
    rng: random.Random, workstations: list[dict[str, str]], covered: list[str]
) -> dict[str, list[str]]:
    """Township codes per workstation: 2-3 each, every covered township at least once."""
    order = covered[:]
    rng.shuffle(order)
    areas: dict[str, list[str]] = {ws["id"]: [] for ws in workstations}
    # Round-robin first so that every covered township gets a workstation ...
    for i, code in enumerate(order):
        areas[workstations[i % len(workstations)]["id"]].append(code)
    # ... then top each workstation up to its target size with other covered townships.
    for codes in areas.values():
        target = max(len(codes), rng.choice((2, 3)))
        while len(codes) < target:
            extra = rng.choice(covered)
            if extra not in codes:
                codes.append(extra)
    return areas


def _training_dates(rng: random.Random) -> tuple[dt.date, dt.date]:
    """One training in 2019 and one in 2020 up to the seed date (30 July 2020)."""
    first = dt.date(2019, 3, 1) + dt.timedelta(days=rng.randrange(290))
    second = dt.date(2020, 1, 6) + dt.timedelta(days=rng.randrange(200))
    return first, second


def _build() -> _Demo:
    """Generate the whole district from one seeded generator, in a fixed order."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not security
    demo = _Demo()

    townships = _townships()
    township_code = {t["name"]: t["code"] for t in townships}
    villages = _villages(rng, townships)
    villages_of: dict[str, list[str]] = {t["code"]: [] for t in townships}
    for village in villages:
        villages_of[village["township_code"]].append(village["code"])
    demo.pilot_villages = {v["name"]: v["code"] for v in villages if v["pilot"] == "true"}

    # Planted gaps: three villages without a member, two others without a liaison.
    ordinary = [v["code"] for v in villages if v["pilot"] == "false"]
    gaps = rng.sample(ordinary, 5)
    demo.gap_villages_without_member = tuple(sorted(gaps[:3]))
    demo.gap_villages_without_liaison = tuple(sorted(gaps[3:]))
    demo.gap_townships_without_workstation = (township_code[_GAP_WORKSTATION_TOWNSHIP],)
    demo.gap_townships_outside_leader_area = (township_code[_GAP_LEADER_TOWNSHIP],)

    workstations = [
        _row(
            "workstations",
            id=f"WS{i:02d}",
            name=f"{short}界别委员工作室",
            sector=sector,
            annual_budget_yuan=_WORKSTATION_BUDGET,
        )
        for i, (short, sector) in enumerate(_SECTORS, start=1)
    ]
    sector_of = {ws["id"]: ws["sector"] for ws in workstations}

    people = _People(rng)
    links: list[dict[str, str]] = []

    # Leaders: disjoint areas of three townships over every township but the planted gap.
    leader_covered = [
        t["code"] for t in townships if t["code"] not in demo.gap_townships_outside_leader_area
    ]
    for start in range(0, len(leader_covered), 3):
        leader = people.add("cppcc_leader")
        for code in leader_covered[start : start + 3]:
            links.append(_row("links", kind="leader_township", subject_id=leader, target_code=code))

    ws_covered = [
        t["code"] for t in townships if t["code"] not in demo.gap_townships_without_workstation
    ]
    ws_areas = _workstation_links(rng, workstations, ws_covered)
    workstations_of: dict[str, list[str]] = {t["code"]: [] for t in townships}
    for ws_id, codes in ws_areas.items():
        for code in codes:
            workstations_of[code].append(ws_id)
            links.append(
                _row("links", kind="workstation_township", subject_id=ws_id, target_code=code)
            )

    # Members: each covers a run of neighbouring villages in one township, and belongs to a
    # workstation linked to that township (any workstation where the township has none).
    member_villages: dict[str, list[str]] = {}
    for township in townships:
        covered = [
            code
            for code in villages_of[township["code"]]
            if code not in demo.gap_villages_without_member
        ]
        count = math.ceil(len(covered) / _VILLAGES_PER_MEMBER)
        candidates = workstations_of[township["code"]] or list(sector_of)
        for i in range(count):
            ws_id = rng.choice(candidates)
            member = people.add("cppcc_member", sector=sector_of[ws_id], workstation_id=ws_id)
            # Contiguous, near-equal slices of the township's covered villages.
            mine = covered[i * len(covered) // count : (i + 1) * len(covered) // count]
            member_villages[member] = mine
            for code in mine:
                links.append(
                    _row("links", kind="member_village", subject_id=member, target_code=code)
                )

    # Liaisons: one per village, a second in some; pilots keep exactly one, the gaps none.
    liaisons_of: dict[str, list[str]] = {t["code"]: [] for t in townships}
    village_liaisons: dict[str, list[str]] = {}
    for village in villages:
        code = village["code"]
        if code in demo.gap_villages_without_liaison:
            continue
        count = 2 if village["pilot"] == "false" and rng.random() < 0.1 else 1
        village_liaisons[code] = [
            people.add("liaison", village_code=code, source=rng.choice(_LIAISON_SOURCES))
            for _ in range(count)
        ]
        liaisons_of[village["township_code"]].extend(village_liaisons[code])

    # Village cadres: a party secretary everywhere; the pilots show a fuller two committees.
    for village in villages:
        posts = ["party_secretary"]
        if village["pilot"] == "true":
            posts += ["committee_director", "committee_member"]
        for post in posts:
            people.add("village_cadre", village_code=village["code"], post=post)

    # Resident cadres in about half of the villages, always in the pilots.
    for village in villages:
        if village["pilot"] == "true" or rng.random() < 0.5:
            people.add("resident_cadre", village_code=village["code"])

    for department, specialty in _EXPERTS:
        people.add("expert", department=department, field=specialty)
    department_ids = {name: people.add("department", name=name) for name in _DEPARTMENTS}

    trainings = []
    for township in townships:
        attendees = liaisons_of[township["code"]]
        first, second = _training_dates(rng)
        # Everyone attends the first session; the second misses a few, as real ones do.
        later = sorted(rng.sample(attendees, math.ceil(len(attendees) * 0.8)))
        for date, present in ((first, attendees), (second, later)):
            trainings.append(
                _row(
                    "trainings",
                    id=f"TR{len(trainings) + 1:02d}",
                    date=date.isoformat(),
                    subject=rng.choice(_TRAINING_SUBJECTS),
                    township_code=township["code"],
                    attendees=";".join(present),
                )
            )

    demo.rows = {
        "townships": townships,
        "villages": villages,
        "workstations": workstations,
        "people": people.rows,
        "links": links,
        "trainings": trainings,
    }

    name_of = {p["id"]: p["name"] for p in people.rows}
    pilot = demo.pilot_villages["石烟塘村"]
    pilot_liaison = village_liaisons[pilot][0]
    pilot_member = next(m for m, codes in member_villages.items() if pilot in codes)
    department = department_ids["区自然资源局"]
    demo.accounts = [
        _account("admin", "district_admin", "", [], [], "零陵区管理员"),
        _account(
            "township",
            "township_officer",
            "",
            [township_code["富家桥镇"]],
            [],
            "富家桥镇联工委干部",
        ),
        _account("liaison", "liaison", pilot_liaison, [], [pilot], name_of[pilot_liaison]),
        _account(
            "member",
            "cppcc_member",
            pilot_member,
            [],
            list(member_villages[pilot_member]),
            name_of[pilot_member],
        ),
        _account("inspector", "discipline_inspector", "", [], [], "区纪委监委"),
        _account("department", "department_officer", department, [], [], name_of[department]),
    ]
    return demo


def _account(
    username: str,
    role: str,
    person_id: str,
    townships: list[str],
    villages: list[str],
    display_name: str,
) -> dict:
    """One demo login; scoping by townships and villages is how the gateway limits it."""
    return {
        "username": username,
        "password": DEMO_PASSWORD,
        "role": role,
        "person_id": person_id,
        "townships": townships,
        "villages": villages,
        "display_name": display_name,
    }


_DEMO = _build()

PILOT_VILLAGES = dict(_DEMO.pilot_villages)
GAP_VILLAGES_WITHOUT_MEMBER = _DEMO.gap_villages_without_member
GAP_VILLAGES_WITHOUT_LIAISON = _DEMO.gap_villages_without_liaison
GAP_TOWNSHIPS_WITHOUT_WORKSTATION = _DEMO.gap_townships_without_workstation
GAP_TOWNSHIPS_OUTSIDE_LEADER_AREA = _DEMO.gap_townships_outside_leader_area
# Empty ``townships`` and ``villages`` mean the whole district; ``person_id`` '' means the
# account is not a registry person. Every password is DEMO_PASSWORD.
DEMO_ACCOUNTS = copy.deepcopy(_DEMO.accounts)


def demo_rows() -> dict[str, list[dict[str, str]]]:
    """Rows per import kind, exactly as they would be read from CSV files.

    All values are ``str`` ('' for empty). A fresh copy each call, so callers may mutate it.
    """
    return copy.deepcopy(_DEMO.rows)


def write_csv(directory: str | pathlib.Path) -> dict[str, pathlib.Path]:
    """Write ``<kind>.csv`` (UTF-8, header row) per kind into ``directory``; return the paths.

    This is the file set an operator would hand to the registry importer.
    """
    target = pathlib.Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, rows in demo_rows().items():
        path = target / f"{kind}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS[kind])
            writer.writeheader()
            writer.writerows(rows)
        paths[kind] = path
    return paths
