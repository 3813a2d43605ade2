#!/usr/bin/env python3
"""gen_register.py – writes deploy/examples/register.yml: 69 invented
information systems of an invented province ("tỉnh Phú Hải") with the
profile of the reference province's 2024 report: 14 systems at level 3,
43 at level 2, 12 at level 1; 53 with an approved protection plan.

Names imitate what a province runs (portal, one-stop public services,
document management, land records, health, education ...); every owner,
name, number and host is made up. The output is committed; run this only
to regenerate it:  python3 deploy/examples/gen_register.py > deploy/examples/register.yml
"""

L3 = [
    ("Cổng thông tin điện tử tỉnh", "citizen-facing", "Văn phòng UBND tỉnh", 120000, False),
    ("Hệ thống thông tin giải quyết thủ tục hành chính tỉnh", "citizen-facing", "Văn phòng UBND tỉnh", 250000, True),
    ("Hệ thống quản lý văn bản và điều hành", "internal", "Sở Thông tin và Truyền thông", 6500, False),
    ("Cơ sở dữ liệu đất đai", "citizen-facing", "Sở Tài nguyên và Môi trường", 40000, True),
    ("Nền tảng tích hợp, chia sẻ dữ liệu (LGSP)", "infrastructure", "Sở Thông tin và Truyền thông", 15000, True),
    ("Hạ tầng Trung tâm dữ liệu tỉnh", "infrastructure", "Sở Thông tin và Truyền thông", 10000, False),
    ("Hệ thống thư điện tử công vụ", "internal", "Sở Thông tin và Truyền thông", 9000, False),
    ("Trung tâm giám sát, điều hành đô thị thông minh (IOC)", "infrastructure", "Văn phòng UBND tỉnh", 12000, False),
    ("Hệ thống đăng ký và quản lý hộ tịch", "citizen-facing", "Sở Tư pháp", 80000, True),
    ("Hệ thống thông tin y tế và hồ sơ sức khỏe điện tử", "citizen-facing", "Sở Y tế", 300000, True),
    ("Cơ sở dữ liệu ngành giáo dục", "citizen-facing", "Sở Giáo dục và Đào tạo", 200000, True),
    ("Hệ thống thanh toán trực tuyến dịch vụ công", "citizen-facing", "Văn phòng UBND tỉnh", 60000, False),
    ("Mạng truyền số liệu chuyên dùng cấp tỉnh", "infrastructure", "Sở Thông tin và Truyền thông", 11000, False),
    ("Hệ thống hội nghị truyền hình trực tuyến", "infrastructure", "Văn phòng UBND tỉnh", 2000, False),
]
DEPTS = ["Sở Kế hoạch và Đầu tư", "Sở Tài chính", "Sở Công Thương", "Sở Nông nghiệp và Phát triển nông thôn",
         "Sở Giao thông vận tải", "Sở Xây dựng", "Sở Lao động - Thương binh và Xã hội", "Sở Văn hóa, Thể thao và Du lịch",
         "Sở Khoa học và Công nghệ", "Sở Nội vụ", "Thanh tra tỉnh", "Ban Dân tộc"]
DISTRICTS = ["thành phố Phú Hải", "huyện Tân Lập", "huyện Đông Hòa", "huyện Bình Giang", "huyện Vĩnh Phước",
             "huyện Long Mỹ", "huyện An Khánh", "huyện Hòa Thạnh", "huyện Ngọc Biển"]
L2 = []
for d in DEPTS:
    L2.append(("Cổng thông tin điện tử " + d, "citizen-facing", d, 5000))
for d in DISTRICTS:
    L2.append(("Cổng thông tin điện tử UBND " + d, "citizen-facing", "UBND " + d, 8000))
L2 += [
    ("Hệ thống quản lý cán bộ, công chức, viên chức", "internal", "Sở Nội vụ", 7000),
    ("Hệ thống quản lý tài chính - ngân sách", "internal", "Sở Tài chính", 800),
    ("Cơ sở dữ liệu doanh nghiệp và đầu tư", "internal", "Sở Kế hoạch và Đầu tư", 1200),
    ("Hệ thống cấp phép xây dựng", "citizen-facing", "Sở Xây dựng", 9000),
    ("Hệ thống quản lý phương tiện và giấy phép lái xe", "citizen-facing", "Sở Giao thông vận tải", 30000),
    ("Cơ sở dữ liệu an sinh xã hội", "internal", "Sở Lao động - Thương binh và Xã hội", 2500),
    ("Hệ thống quản lý bệnh viện đa khoa tỉnh (HIS)", "internal", "Sở Y tế", 1500),
    ("Hệ thống quản lý trường học", "internal", "Sở Giáo dục và Đào tạo", 6000),
    ("Cơ sở dữ liệu nông nghiệp và thủy sản", "internal", "Sở Nông nghiệp và Phát triển nông thôn", 900),
    ("Hệ thống quan trắc môi trường tự động", "industrial-control", "Sở Tài nguyên và Môi trường", 300),
    ("Hệ thống tiếp nhận phản ánh, kiến nghị", "citizen-facing", "Văn phòng UBND tỉnh", 15000),
    ("Hệ thống quản lý khiếu nại, tố cáo", "internal", "Thanh tra tỉnh", 400),
    ("Hệ thống thông tin du lịch thông minh", "citizen-facing", "Sở Văn hóa, Thể thao và Du lịch", 20000),
    ("Hệ thống quản lý di tích và lễ hội", "internal", "Sở Văn hóa, Thể thao và Du lịch", 200),
    ("Hệ thống quản lý đề tài khoa học", "internal", "Sở Khoa học và Công nghệ", 300),
    ("Hệ thống chữ ký số chuyên dùng", "infrastructure", "Sở Thông tin và Truyền thông", 4000),
    ("Hệ thống giám sát an toàn thông tin (SOC)", "infrastructure", "Sở Thông tin và Truyền thông", 50),
    ("Hệ thống sao lưu dự phòng", "infrastructure", "Sở Thông tin và Truyền thông", 50),
    ("Hệ thống quản lý giá và thị trường", "internal", "Sở Công Thương", 300),
    ("Hệ thống thống kê kinh tế - xã hội", "internal", "Văn phòng UBND tỉnh", 600),
    ("Hệ thống quản lý quy hoạch", "citizen-facing", "Sở Xây dựng", 3000),
    ("Hệ thống quản lý thi đua, khen thưởng", "internal", "Sở Nội vụ", 500),
]
assert len(L2) == 43, len(L2)
L1 = [
    ("Trang thông tin nội bộ " + d, "internal", d, 150) for d in
    ["Sở Tư pháp", "Sở Y tế", "Sở Giáo dục và Đào tạo", "Sở Tài nguyên và Môi trường", "Ban Quản lý các khu công nghiệp",
     "Đài Phát thanh và Truyền hình", "Thư viện tỉnh", "Bảo tàng tỉnh", "Trung tâm Xúc tiến Thương mại",
     "Ban Dân tộc", "Văn phòng Đoàn ĐBQH và HĐND tỉnh", "Liên minh Hợp tác xã"]
]
assert len(L1) == 12

OPERATOR = "Trung tâm Chuyển đổi số tỉnh Phú Hải"
SECUNIT = "Phòng An toàn thông tin, Sở Thông tin và Truyền thông"


def q(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


out = []
w = out.append
w("# Example register of information systems (invented; see gen_register.py).")
w("# 69 systems: 14 at level 3, 43 at level 2, 12 at level 1; 53 plans approved.")
w("# Format: docs/compliance.md.")
w('province: "Tỉnh Phú Hải (ví dụ)"')
w('organisation: ' + q(OPERATOR))
w("sensors: [dc-sensor-01]")
w("systems:")
n = 0
for level, lst in ((3, L3), (2, L2), (1, L1)):
    for i, item in enumerate(lst):
        n += 1
        name, typ, owner, users = item[0], item[1], item[2], item[3]
        npdb = item[4] if len(item) > 4 else False
        sid = "SYS-%03d" % n
        # Plans: every level-3 system, 33 of 43 at level 2, 6 of 12 at level 1 (53).
        approved = level == 3 or (level == 2 and i < 33) or (level == 1 and i < 6)
        impl = "none" if not approved else ("full" if i % 3 != 2 else "partial")
        # Decisions before 1 July 2026 were made under the old framework.
        year = 2023 + (n % 3)
        old = n % 5 != 0
        ddate = "%d-%02d-%02d" % (year, (n % 12) + 1, (n % 27) + 1) if old else "2026-%02d-%02d" % (7 + n % 4, (n % 27) + 1)
        w("  - id: " + sid)
        w("    name: " + q(name))
        w("    type: " + typ)
        classes = ["public"] + (["personal"] if level >= 2 else []) + (["citizen-records"] if npdb else [])
        w("    info_classes: [" + ", ".join(classes) + "]")
        w("    users: %d" % users)
        w("    national_population_db: " + ("true" if npdb else "false"))
        w("    owner: " + q(owner))
        w("    security_unit: " + q(SECUNIT))
        w("    operator: " + q(OPERATOR))
        w("    contact: " + q("atttt.sys%03d@phuhai.example.vn" % n))
        w("    framework: " + ("old" if old else "new"))
        w("    level: %d" % level)
        w("    dossier: approved")
        w("    decision: {number: %s, date: %s}" % (q("%d/QĐ-UBND" % (1000 + n * 17)), ddate))
        tgt = "2025-12-31"
        w("    plan: {approved: %s, implementation: %s, target: %s}" % ("true" if approved else "false", impl, tgt))
        if level == 3:
            w("    assessment: {last: 2026-0%d-15, assessor: %s, pentest: 2026-0%d-20}" % (1 + i % 6, q("Công ty Kiểm định ATTT Phương Nam (ví dụ)"), 1 + i % 6))
        w("    layers:")
        # Layers 1 and 3 are attested; two level-3 inspections expired on 2026-06-30.
        if level >= 2:
            w("      onsite: {status: active, evidence: %s, valid_until: 2027-06-30}" % q("QĐ %d/QĐ-STTTT phân công ATTT" % (200 + n)))
        else:
            w("      onsite: {status: missing}")
        if level == 3 or (level == 2 and i < 35) or (level == 1 and i < 8):
            w("      monitoring: {status: active, evidence: \"minisoc\"}")
        else:
            w("      monitoring: {status: missing}")
        if level == 3:
            until = "2026-06-30" if i in (12, 13) else "2027-03-31"
            w("      inspection: {status: active, evidence: %s, valid_until: %s}" % (q("BB kiểm tra %d/2026" % (40 + i)), until))
        if level == 3:
            w("      national: {status: active, evidence: \"NCSC kết nối 2025\"}")
        if level >= 2:
            # Manual requirements of the new framework; SYS-004 and SYS-020's have expired.
            exp = "2026-05-31" if n in (4, 20) else "2027-05-31"
            w("    attestations:")
            w("      mfa-admin: {ref: %s, valid_until: %s}" % (q("BB kiểm tra xác thực đa yếu tố %d" % n), exp))
            w("      idle-accounts: {ref: %s, valid_until: 2027-05-31}" % q("Quy trình rà soát tài khoản %d" % n))
        # Assets: level-3 systems have a web and a db host; level 2 one host;
        # at level 1 only the first 8 have an agent (coverage is not complete).
        w("    assets:")
        base = "sys%03d" % n
        if level == 3:
            w("      - {host: %s-web1, agent: %s-web1}" % (base, base))
            w("      - {host: %s-db1, agent: %s-db1}" % (base, base))
        elif level == 2 or i < 8:
            w("      - {host: %s-app1, agent: %s-app1}" % (base, base))
        else:
            w("      - {host: %s-app1}" % base)
assert n == 69
print("\n".join(out))
