"""Screenshots of the similarity and review pages for the README (headless Chromium).

    python docs/screenshots.py        # writes docs/similarity-index.png, docs/similarity-pair.png, docs/review.png

The similarity pages are those of a synthetic class (``tests/classroom/similar_class.py``: six
students and two disguised copies); the review page is the demo class's a03 question with the
demo marks (``demo/marks``).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "classroom"))


def shoot(page: Path, png: Path, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--no-first-run", f"--user-data-dir={profile}", f"--window-size=1200,{height}",
                        f"--screenshot={png}", page.as_uri()], check=True, capture_output=True, timeout=120)
    print(f"wrote {png}")


def main() -> None:
    from similar_class import make_class

    from autograder.classroom.policy import read_marks
    from autograder.classroom.review import write_review
    from autograder.classroom.similarity import run
    from autograder.core.course import Course

    course = Course(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_class(tmp / "class", course.assignments["a01_neurons"].student, "a01_neurons", independent=6,
                   copies=((0, "all"), (2, "rename")))
        report = run(course, [tmp / "class"], tmp / "similarity", lang="en", jobs=1)
        shoot(tmp / "similarity" / "index.html", ROOT / "docs" / "similarity-index.png", 700)
        shoot(tmp / "similarity" / report.pairs["a01_neurons"][0].page, ROOT / "docs" / "similarity-pair.png", 900)
        (page,) = write_review(course, [ROOT / "demo" / "class"], tmp / "review", assignment="a03_modules",
                               marks=read_marks([ROOT / "demo" / "marks"]))
        shoot(page, ROOT / "docs" / "review.png", 1500)


if __name__ == "__main__":
    main()
