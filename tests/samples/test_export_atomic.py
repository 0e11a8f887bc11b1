"""Failed exports leave nothing behind and say which file failed.

The failures are real ones from the operating system (a parent that is a file, a read-only folder, a file
size limit standing in for a full disk), not writers patched to raise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.rdm.export import export_samples

SUFFIXES = [".parquet", ".gpkg", ".geojson", ".csv"]


def small_samples(n: int = 50) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    return gpd.GeoDataFrame(
        {"sample_id": [f"s{i}" for i in range(n)], "ewoc_code": np.full(n, 1101060000, dtype="int64")},
        geometry=gpd.GeoSeries(shapely.points(rng.uniform(4, 5, n), rng.uniform(50, 51, n)), crs="EPSG:4326"),
    )


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_parent_that_is_a_file_fails_naming_the_path_and_leaves_nothing(tmp_path, suffix):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    target = blocker / "new" / "nested" / f"out{suffix}"
    with pytest.raises((BadParameterError, OSError)) as info:
        export_samples(small_samples(), target)
    assert str(target) in str(info.value)
    assert tree(tmp_path) == ["not-a-folder"]
    assert blocker.read_text() == "a file where a folder should be"


# A file size limit makes every write past it fail with EFBIG, as a full disk fails with ENOSPC, after the
# folders and the temp file were created. It runs in a child process so the limit cannot hit pytest.
_FULL_DISK_SCRIPT = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path

    import geopandas as gpd, numpy as np, shapely

    from worldcereal_explorer.rdm.export import export_samples

    n = 20_000
    rng = np.random.default_rng(0)
    gdf = gpd.GeoDataFrame(
        {"sample_id": [f"s{i}" for i in range(n)], "value": rng.random(n)},
        geometry=gpd.GeoSeries(shapely.points(rng.uniform(4, 5, n), rng.uniform(50, 51, n)), crs="EPSG:4326"),
    )
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
    results = {}
    for target in sys.argv[1:]:
        try:
            export_samples(gdf, target)
            results[target] = None
        except Exception as exc:
            results[target] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(results))
""")


@pytest.mark.skipif(sys.platform != "linux", reason="needs RLIMIT_FSIZE and SIGXFSZ as on Linux")
def test_full_disk_fails_naming_the_path_and_leaves_no_file_and_no_new_folder(tmp_path):
    existing = tmp_path / "existing"
    existing.mkdir()
    targets = [tmp_path / f"new{s}" / "nested" / f"out{s}" for s in SUFFIXES]
    # An earlier export of the same name stays as it was.
    kept = [existing / f"out{s}" for s in SUFFIXES]
    for path in kept:
        path.write_text("earlier export")
    completed = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_SCRIPT, *map(str, targets + kept)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    for target in targets + kept:
        error = results[str(target)]
        assert error is not None, f"{target} was written despite the size limit"
        assert str(target) in error, error
    assert tree(tmp_path) == ["existing", *sorted(f"existing/out{s}" for s in SUFFIXES)]
    assert all(path.read_text() == "earlier export" for path in kept)


def test_a_long_file_name_is_written_and_its_temp_file_never_refused(tmp_path):
    # The temp name is derived from at most 100 characters of the target's, so any name the file system
    # takes for the target works (a longer temp name once made the write fail and leak new folders).
    target = tmp_path / "new" / "nested" / ("x" * 245 + ".csv")
    export_samples(small_samples(), target)
    assert tree(tmp_path) == ["new", "new/nested", f"new/nested/{target.name}"]


def test_a_name_the_file_system_refuses_leaves_no_new_folder(tmp_path):
    target = tmp_path / "new" / "nested" / ("x" * 300 + ".csv")
    with pytest.raises(OSError) as info:
        export_samples(small_samples(), target)
    assert "x" * 50 in str(info.value)
    assert tree(tmp_path) == []
