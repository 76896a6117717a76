"""Object-level read access: a liaison of another village and an officer of another township
get 403 (or an empty list) for exercises, alerts, matters and statistics."""

from datetime import UTC, datetime

import pytest

from services.chassis import clock
from services.chassis.actor import Actor
from services.chassis.errors import Forbidden
from tests.helpers import rpc_as
from tests.service import supervision_support as support
from tests.service.supervision_support import (
    ADMIN,
    INSPECTOR,
    LIAISON1,
    MEMBER1,
    OFFICER1,
    T1,
    T2,
    V1,
    V3,
)

pytestmark = pytest.mark.service
sup_config, supervision = support.sup_config, support.supervision

OFFICER2 = Actor(roles=("township_officer",), username="officer2", townships=(T2,))
LIAISON3 = Actor(roles=("liaison",), username="liaison3", person_id="L3", villages=(V3,))
DEPARTMENT = Actor(roles=("department_officer",), username="dept", person_id="D1")


def _skipped_exercise(rpc) -> dict:
    """An exercise in V1 completed without its steps: alerts and matters in V1."""
    exercise = rpc.supervision.start_exercise(code=V1, data={"item_id": "MD01",
                                                             "title": "村集体山林承包"})
    return rpc.supervision.complete_exercise(exercise_id=exercise["id"])


def test_readers_outside_the_village_are_refused(supervision, sup_config):
    clock.set_now(datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    with rpc_as(sup_config, LIAISON1) as rpc:
        exercise = _skipped_exercise(rpc)
    matter_id = exercise["alerts"][0]["matter_id"]
    assert exercise["alerts"]

    for outsider in (OFFICER2, LIAISON3, DEPARTMENT):
        with rpc_as(sup_config, outsider) as rpc:
            with pytest.raises(Forbidden):
                rpc.supervision.list_exercises(code=V1)
            with pytest.raises(Forbidden):
                rpc.supervision.get_exercise(exercise_id=exercise["id"])
            with pytest.raises(Forbidden):
                rpc.supervision.get_matter(matter_id=matter_id)
            assert rpc.supervision.list_alerts()["total"] == 0
            assert rpc.supervision.list_alerts(query={"village": V1})["items"] == []
            assert rpc.supervision.list_matters()["total"] == 0
            assert rpc.supervision.list_matters(query={"village": V1})["items"] == []
    with rpc_as(sup_config, OFFICER2) as rpc:
        with pytest.raises(Forbidden):
            rpc.supervision.statistics(query={"period": "2026-11", "township": T1})
        own = rpc.supervision.statistics(query={"period": "2026-11"})
        assert [t["township_code"] for t in own["townships"]] == [T2]
        assert own["total"]["current"]["procedure_alerts"] == 0
    for outsider in (LIAISON3, DEPARTMENT):
        with rpc_as(sup_config, outsider) as rpc, pytest.raises(Forbidden):
            rpc.supervision.statistics(query={"period": "2026-11"})

    expected = len(exercise["alerts"])
    for insider in (OFFICER1, LIAISON1, ADMIN, MEMBER1, INSPECTOR):
        with rpc_as(sup_config, insider) as rpc:
            assert rpc.supervision.list_exercises(code=V1)["total"] == 1
            assert rpc.supervision.get_exercise(exercise_id=exercise["id"])["id"]
            assert rpc.supervision.get_matter(matter_id=matter_id)["id"] == matter_id
            assert rpc.supervision.list_alerts()["total"] == expected
            assert rpc.supervision.list_matters()["total"] == expected
    with rpc_as(sup_config, OFFICER1) as rpc:
        stats = rpc.supervision.statistics(query={"period": "2026-11"})
        assert [t["township_code"] for t in stats["townships"]] == [T1]

