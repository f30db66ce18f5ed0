"""The CPU fingerprint the environment stage records (issue #10: bytes reproduce on the same CPU model)."""

from robopercept.reporting.cpu import caches, fingerprint, parse_cpuinfo, same_bytes_expected

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse4_2 avx avx2 fma f16c avx512f

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
"""


def test_cpuinfo_gives_the_first_processors_identity_and_known_flags():
    info = parse_cpuinfo(CPUINFO)
    assert info == {"vendor": "AuthenticAMD", "family": "25", "model": "17", "model_name": "AMD EPYC",
                    "stepping": "1", "flags": ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f"]}
    assert parse_cpuinfo("") == {"flags": []}


def test_caches_read_from_a_sysfs_layout(tmp_path):
    for i, (level, kind, size) in enumerate([("1", "Data", "32K"), ("1", "Instruction", "32K"),
                                             ("2", "Unified", "1024K"), ("3", "Unified", "32768K")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        for name, value in (("level", level), ("type", kind), ("size", size)):
            (d / name).write_text(value + "\n")
    (tmp_path / "index9").mkdir()  # unreadable entries are skipped
    assert caches(tmp_path) == {"L1d": "32K", "L1i": "32K", "L2": "1024K", "L3": "32768K"}
    assert caches(tmp_path / "missing") == {}


def test_fingerprints_compare_on_model_caches_and_dispatch_not_on_the_name(tmp_path):
    (tmp_path / "cpuinfo").write_text(CPUINFO)
    a = fingerprint(tmp_path / "cpuinfo", tmp_path)
    assert a["family"] == "25" and a["caches"] == {} and isinstance(a["torch_cpu_capability"], str)
    assert same_bytes_expected(a, dict(a, model_name="another name"))
    assert not same_bytes_expected(a, dict(a, model="1"))
    assert not same_bytes_expected(a, dict(a, caches={"L2": "512K"}))
    here = fingerprint()
    assert set(here) >= {"flags", "caches", "torch_cpu_capability", "mkldnn", "mkl"}
