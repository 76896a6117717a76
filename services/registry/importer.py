"""Bulk import from CSV: every row valid or nothing is written.

Rows are loaded with the same schemas and applied with the same use cases as single
writes, in one transaction, as upserts (an identical row changes nothing, so loading a file
twice is harmless). Every bad row is reported as ``"<line>.<column>": [reasons]``.
"""

import csv
import io
from collections.abc import Callable

from services.chassis.actor import Actor
from services.chassis.errors import Conflict, ValidationFailed
from services.chassis.schemas import load
from services.chassis.store import Transaction
from services.registry import access, commands, schemas

KINDS = {
    "townships": (schemas.TownshipIn, commands.register_township, ("code",)),
    "villages": (schemas.VillageIn, commands.register_village, ("code",)),
    "workstations": (schemas.WorkstationIn, commands.register_workstation, ("id",)),
    "people": (schemas.PersonIn, commands.register_person, ("id",)),
    "links": (schemas.LinkIn, commands.link, ("kind", "subject_id", "target_code")),
    "trainings": (schemas.TrainingIn, commands.record_training, ("id",)),
}
LIST_COLUMNS = {"trainings": {"attendees": ";"}}
MAX_REPORTED = 500


def import_csv(tx: Transaction, actor: Actor, kind: str, text: str,
               progress: Callable[[int], None] | None = None) -> dict:
    access.require_district(actor)
    schema_cls, apply, key_columns = KINDS[kind]
    schema = schema_cls()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    _check_header(reader.fieldnames, schema)
    errors: dict[str, list[str]] = {}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    seen: dict[tuple, int] = {}
    rows = 0
    for row in reader:
        line, rows = reader.line_num, rows + 1
        try:
            data = load(schema, _cleaned(kind, row))
            key = tuple(data.get(column) for column in key_columns)
            if not all(key):
                raise ValidationFailed("缺少编号", {key_columns[0]: ["导入时必须提供编号"]})
            if key in seen:
                raise ValidationFailed("重复", {key_columns[0]: [f"与第 {seen[key]} 行重复"]})
            seen[key] = line
            counts[apply(tx, actor, data, upsert=True)] += 1
        except (ValidationFailed, Conflict) as exc:
            for column, reasons in exc.details.items():
                errors[f"{line}.{column}"] = reasons
        if progress:
            progress(rows)
    if errors:
        bad_lines = len({key.split(".")[0] for key in errors})
        shown = dict(list(errors.items())[:MAX_REPORTED])
        raise ValidationFailed(f"导入失败: {bad_lines} 行有错, 未写入任何数据", shown)
    if rows == 0:
        raise ValidationFailed("文件中没有数据行", {"csv": ["没有数据行"]})
    return {"kind": kind, "rows": rows, **counts}


def _check_header(fieldnames, schema) -> None:
    if not fieldnames:
        raise ValidationFailed("文件为空", {"csv": ["缺少表头"]})
    known = set(schema.fields)
    errors = {f"1.{name}": ["未知列"] for name in fieldnames if name not in known}
    errors.update({f"1.{name}": ["缺少必填列"] for name, field in schema.fields.items()
                   if field.required and name not in fieldnames})
    if errors:
        raise ValidationFailed("表头有误", errors)


def _cleaned(kind: str, row: dict) -> dict:
    """Empty cells are absent values; list columns are split."""
    if None in row:
        raise ValidationFailed("列数过多", {"csv": ["该行的列数多于表头"]})
    data = {name: value.strip() for name, value in row.items()
            if value is not None and value.strip()}
    for column, separator in LIST_COLUMNS.get(kind, {}).items():
        if column in data:
            data[column] = [item.strip() for item in data[column].split(separator)
                            if item.strip()]
    return data


