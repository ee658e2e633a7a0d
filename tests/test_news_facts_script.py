"""scripts/news_facts_crossre.py: the bundled news model's facts judged against CrossRE's news relations."""

from __future__ import annotations

import re
import subprocess
import sys

from kgbuild.resources import REPO_ROOT
from tests.datafiles import dataset


def test_the_news_fact_check_runs_on_crossre_news_and_prints_its_table():
    script = REPO_ROOT / "scripts" / "news_facts_crossre.py"
    result = subprocess.run([sys.executable, str(script), "--model", "conll04", "--data",
                             str(dataset("crossre/news-dev.json")), "--show", "5"],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    head = re.search(r"(\d+) sentences, (\d+) facts, (\d+) right .*?(\d+) relate two spans", result.stdout)
    assert head, result.stdout
    sentences, facts, right, related = map(int, head.groups())
    assert sentences >= 6 and facts >= 1 and right <= related <= facts
    rows = re.findall(r"^\s+(0\.\d\d)\s+(\d+)\s", result.stdout, flags=re.M)
    assert [r[0] for r in rows] == ["0.00", "0.30", "0.40", "0.50", "0.60", "0.65", "0.70", "0.80"]
    assert int(rows[0][1]) == facts and all(int(a[1]) >= int(b[1]) for a, b in zip(rows, rows[1:]))
