"""Texts a result carries by key (notices, reasons a notebook was not graded), in each language.

A result stores ``{"key": ..., "args": {...}}`` rather than a sentence, so the pages, the
gradebook notes and Gradescope's output can be written in the language of the run
(``--lang``).  Only the texts that are shown in both languages live here.
"""
from __future__ import annotations

import textwrap

RU = {
    # notices: information, not errors
    "duplicates": "найдено несколько ноутбуков этого задания; оценён самый поздний, {graded}; "
                  "не оценены: {others}",
    "recognised_by_name": "задание {assignment} определено по имени файла «{name}» (копия Colab/Jupyter)",
    "recognised_by_definitions": "задание {assignment} определено по определениям в ноутбуке "
                                 "({names})",
    "skipped_cells": "при проверке не выполнялись ячейки с тегом skip-execution (обучение, загрузка "
                     "данных: их результат проверяется иначе, например по сданному файлу весов): {cells}",
    # why a notebook was not graded (result["reason"])
    "not_notebook": "Файл не является ноутбуком: скачайте его заново из Jupyter или Colab "
                    "(File → Download → .ipynb) и сдайте ещё раз.",
    "unknown_assignment": "Не удалось определить задание: в метаданных ноутбука нет "
                          "autograder.assignment, имя файла не совпадает ни с одним заданием ({ids}), "
                          "и определения в ноутбуке не похожи ни на одно из них. Назовите файл "
                          "как в задании (например, {example}.ipynb).",
    "ambiguous_assignment": "Не удалось однозначно определить задание: ноутбук подходит к нескольким "
                            "({candidates}). Назовите файл как в задании (например, {example}.ipynb).",
    # short forms for the gradebook notes and test statuses
    "note_failed": "не пройдено проверок: {n}",
    "note_skipped": "не оценено: {n}",
    "note_not_run": "проверки не запускались",
    "note_timed_out": "ноутбук остановлен по времени",
    "note_execution_errors": "ошибок при выполнении ноутбука: {n}",
    "note_pending": "ждут ручной проверки: {n}",
    "manual_pending": "Оценивается вручную: ответ ждёт проверки преподавателем.",
    "manual_marked": "Оценено преподавателем вручную.",
    "manual_no_answer": "Оценивается вручную: ответ не найден (ячейка ответа не заполнена).",
    "status_graded": "оценено", "status_ungraded": "не оценено", "status_error": "ошибка проверки",
    # lateness (policy.apply_policy's result["late"])
    "note_late": "опоздание {days} дн.: −{penalty} ({rule})",
    "late_mtime": "время сдачи известно лишь как время изменения файла: по нему опоздание {days} дн., "
                  "штраф не начислен",
    "late_unknown": "время сдачи неизвестно: опоздание не учтено",
}

EN = {
    "duplicates": "several notebooks of this assignment were found; the latest, {graded}, was graded; "
                  "not graded: {others}",
    "recognised_by_name": "assignment {assignment} recognised from the file name \"{name}\" "
                          "(a Colab/Jupyter copy)",
    "recognised_by_definitions": "assignment {assignment} recognised from the notebook's "
                                 "definitions ({names})",
    "skipped_cells": "cells tagged skip-execution were not run at grading (training, data download: "
                     "their result is checked otherwise, e.g. from the weights file handed in): {cells}",
    "not_notebook": "The file is not a notebook: download it again from Jupyter or Colab "
                    "(File → Download → .ipynb) and resubmit.",
    "unknown_assignment": "Could not tell the assignment: the notebook metadata has no "
                          "autograder.assignment, the file name matches none of the assignments "
                          "({ids}) and the notebook's definitions resemble none of them. Name the "
                          "file as in the assignment (e.g. {example}.ipynb).",
    "ambiguous_assignment": "Could not tell the assignment: the notebook fits several ({candidates}). "
                            "Name the file as in the assignment (e.g. {example}.ipynb).",
    "note_failed": "{n} test(s) failed",
    "note_skipped": "{n} not graded",
    "note_not_run": "tests not run",
    "note_timed_out": "notebook timed out",
    "note_execution_errors": "{n} error(s) running the notebook",
    "note_pending": "{n} pending manual grading",
    "manual_pending": "Graded by hand: the answer waits for the instructor.",
    "manual_marked": "Graded by hand by the instructor.",
    "manual_no_answer": "Graded by hand: no answer found (the answer cell was left as released).",
    "status_graded": "graded", "status_ungraded": "ungraded", "status_error": "grading error",
    "note_late": "late {days} d: −{penalty} ({rule})",
    "late_mtime": "the submission time is only the file's modification time: {days} day(s) late by it, "
                  "not charged",
    "late_unknown": "submission time unknown: lateness not charged",
}

MESSAGES = {"ru": RU, "en": EN}


def text(key: str, lang: str = "ru", **args) -> str:
    """The message ``key`` in ``lang`` (ru, en) with ``args`` filled in."""
    return MESSAGES.get(lang, RU)[key].format(**args)


def notice(key: str, **args) -> dict:
    """A notice as a result stores it: ``{"key": key, "args": args}``."""
    return {"key": key, "args": {k: str(v) for k, v in args.items()}}


def render(entry, lang: str = "ru") -> str:
    """A stored notice or reason (``{"key", "args"}``; a plain string is returned as is)."""
    if isinstance(entry, dict) and entry.get("key") in RU:
        try:
            return text(entry["key"], lang, **(entry.get("args") or {}))
        except (KeyError, IndexError):
            return str(entry)
    return str(entry)


def shorten(s: str, width: int) -> str:
    """``s`` on one line, at most ``width`` characters, cut at a word boundary with an ellipsis."""
    line = textwrap.shorten(str(s), width, placeholder="…")
    if line == "…":  # the first word alone is longer than width
        line = " ".join(str(s).split())[: width - 1] + "…"
    return line
