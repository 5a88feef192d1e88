"""Tests for the workshop engine (pbc_lib.workshop.engine): hand-worked sums, invariants that a
fair workshop needs (same events for every team, exact replay, decisions alone separate teams),
plain-English validation, and JSON round trips for the store."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbc_lib import data
from pbc_lib.models import budget_risk, budgets, demand, waiting_list
from pbc_lib.workshop import engine as e
from pbc_lib.workshop.engine import Scenario, WorkshopError

LOC = "City North"
FAST = settings(max_examples=25, deadline=None)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario()


def _walk_plain(obj) -> None:
    """Only str, int, float (finite), bool, None, list and dict with str keys."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, str)
            _walk_plain(v)
    elif isinstance(obj, list):
        for v in obj:
            _walk_plain(v)
    elif isinstance(obj, float):
        assert math.isfinite(obj)
    else:
        assert obj is None or type(obj) in (str, int, bool), type(obj)


def _json_round_trip(obj):
    return json.loads(json.dumps(obj, allow_nan=False))


# --------------------------------------------------------------------------------------------
# The workshop's fixed parts
# --------------------------------------------------------------------------------------------
def test_localities_come_from_the_data_in_file_order():
    practices = data.load_practices()
    assert e.LOCALITIES == tuple(practices["locality"].drop_duplicates())
    assert len(e.LOCALITIES) == 7
    assert e.LOCALITIES[0] == "City Centre"


def test_first_year_and_round_years():
    assert e.FIRST_YEAR == budgets.BUDGET_YEAR == "2007/08"
    assert [e.round_year(r) for r in range(1, e.MAX_ROUNDS + 1)] == [
        "2007/08",
        "2008/09",
        "2009/10",
        "2010/11",
        "2011/12",
    ]
    assert e.ROLES == ("cluster", "pct", "acute_trust")
    assert set(e.PRIORITIES) == {"children", "mental_health", "older_people"}
    for spec in e.EVENTS.values():
        assert {"label", "description", "source"} <= set(spec)
        assert "[" in spec["source"]  # tagged [V], [D] or [U]


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------
def test_scenario_round_trips_through_a_dict_and_json(scenario):
    d = scenario.to_dict()
    assert Scenario.from_dict(_json_round_trip(d)) == scenario
    _walk_plain(d)
    custom = Scenario(name="Test", localities=["City South"], rounds=5, events=[], seed=0)
    assert custom.localities == ("City South",)
    assert Scenario.from_dict(custom.to_dict()) == custom
    assert Scenario.from_dict({}) == Scenario()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rounds": 0}, "The number of rounds must be a whole number from 1 to 5; you gave 0."),
        ({"rounds": 6}, "from 1 to 5; you gave 6"),
        ({"rounds": 2.5}, "whole number"),
        ({"events": ("hard_winter", "plague")}, "Unknown event 'plague'"),
        ({"events": ("hard_winter", "hard_winter")}, "listed twice"),
        ({"localities": ("City Centre", "Atlantis")}, "Unknown locality 'Atlantis'"),
        ({"localities": ("City Nrth",)}, "Did you mean 'City North'?"),
        ({"localities": ()}, "Give at least one locality"),
        ({"seed": -1}, "The seed must be a whole number from 0 to 4,294,967,295; you gave -1."),
        ({"seed": 2**32}, "The seed must be a whole number"),
        ({"seed": True}, "The seed must be a whole number"),
        ({"name": ""}, "The workshop name must be text"),
        ({"growth_allowance": "yes"}, "growth_allowance must be true or false"),
    ],
)
def test_bad_scenarios_say_what_is_wrong(kwargs, message):
    with pytest.raises(WorkshopError) as err:
        Scenario(**kwargs)
    assert message in str(err.value)


def test_scenario_from_dict_rejects_unknown_settings_and_non_dicts():
    with pytest.raises(WorkshopError, match="Unknown scenario setting 'round'.*'rounds'"):
        Scenario.from_dict({"round": 3})
    with pytest.raises(WorkshopError, match="must be a dictionary"):
        Scenario.from_dict([("rounds", 3)])
    with pytest.raises(WorkshopError, match="events must be a list"):
        Scenario.from_dict({"events": "hard_winter"})


# --------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------
def test_decision_options_describe_every_control():
    options = e.decision_options()
    assert list(options) == list(e.default_decisions())
    for key, spec in options.items():
        assert spec["key"] == key
        assert spec["kind"] in ("choice", "int", "bool")
        assert spec["label"] and spec["help"] and spec["source"]
        if spec["kind"] == "choice":
            assert spec["default"] in [o["value"] for o in spec["options"]]
        if spec["kind"] == "int":
            assert spec["min"] <= spec["default"] <= spec["max"]
    assert options["case_managers"]["max"] == e.MAX_CASE_MANAGERS == 12
    _walk_plain(_json_round_trip(options))
    assert e.validate_decisions(e.default_decisions()) == e.default_decisions()


def test_validate_decisions_normalises():
    out = e.validate_decisions({"case_managers": 2.0, "priority": "older_people"})
    assert out["case_managers"] == 2 and type(out["case_managers"]) is int
    assert out["priority"] == "older_people"
    assert out["referral_management"] == "none"  # missing keys take their defaults
    assert e.validate_decisions({}) == e.default_decisions()


@pytest.mark.parametrize(
    ("decisions", "message"),
    [
        ({"case_managers": 40}, "Case managers must be a whole number from 0 to 12; you gave 40."),
        ({"case_managers": -1}, "Case managers must be a whole number from 0 to 12; you gave -1."),
        ({"case_managers": 2.5}, "Case managers must be a whole number"),
        ({"case_managers": True}, "Case managers must be a whole number"),
        ({"case_managers": "3"}, "Case managers must be a whole number"),
        ({"case_manager": 3}, "Unknown decision 'case_manager'.*Did you mean 'case_managers'"),
        ({"prescribing_initiative": 1}, "Prescribing initiative must be true or false"),
        ({"risk_share": "insurance"}, "Risk share must be one of: none"),
        ({"priority": "Older people"}, "Commissioning-plan priority must be one of"),
        ({"referral_management": None}, "Referral management must be one of"),
    ],
)
def test_bad_decisions_name_the_field(decisions, message):
    with pytest.raises(WorkshopError, match=message):
        e.validate_decisions(decisions)


def test_decisions_must_be_a_dictionary():
    with pytest.raises(WorkshopError, match="Decisions must be a dictionary"):
        e.validate_decisions([("case_managers", 1)])


# --------------------------------------------------------------------------------------------
# Hand-computed costs
# --------------------------------------------------------------------------------------------
def _gp_referrals_2007(locality: str) -> float:
    """GP referrals expected in 2007/08: 2006/07 count x one year of the PCT's trend per head."""
    act, lists = data.load_activity(), data.load_list_sizes()
    refs = act.loc[act["pod"] == "gp_referral"]
    heads = lists.groupby("financial_year")["registered_patients"].sum()
    rate = refs.groupby("financial_year")["activity"].sum() / heads
    growth = (rate["2006/07"] / rate["2004/05"]) ** 0.5 - 1
    ids = data.load_practices().query("locality == @locality")["practice_id"]
    own = refs.loc[(refs["financial_year"] == "2006/07") & refs["practice_id"].isin(ids)]
    return own["activity"].sum() * (1 + growth)


def test_decision_costs_by_hand(scenario):
    costs = e.decision_costs(
        scenario,
        LOC,
        {"case_managers": 2, "prescribing_initiative": True, "referral_management": "msk_icats"},
        1,
    )
    assert costs["case_managers"] == 90_000.0  # 2 x £45,000 (demand.CASE_MANAGER_COST central)
    assert costs["prescribing_initiative"] == pytest.approx(0.75 * 44_822, abs=0.01)
    triaged = _gp_referrals_2007(LOC) * 0.15 * 0.9  # MSK scope 15%, 90% triaged
    by_hand = triaged * 25 + triaged * 0.10 * (1 + 0.25) * 180  # triage + community episodes
    assert costs["referral_management"] == pytest.approx(by_hand, abs=0.01)
    assert costs["freed_up_use"] == costs["priority"] == costs["risk_share"] == 0.0
    parts = sum(v for k, v in costs.items() if k != "total")
    assert costs["total"] == pytest.approx(parts, abs=0.005)
    assert e.decision_costs(scenario, LOC, {}, 1)["total"] == 0.0


def test_referral_management_matches_the_demand_model(scenario):
    """The engine's central-value arithmetic equals demand.simulate with every input fixed."""
    base = e._base(LOC, 1, True)
    got = e._referral_management(base, "referral_centre")
    fixed = {
        name: demand.fixed(getattr(demand, const).central, "test")
        for name, const in (
            ("share_triaged", "SHARE_TRIAGED"),
            ("share_redirected", "SHARE_REDIRECTED"),
            ("share_returned", "SHARE_RETURNED"),
            ("admission_factor", "ADMISSION_FACTOR"),
            ("community_price", "COMMUNITY_PRICE"),
            ("triage_cost", "TRIAGE_COST"),
            ("induced_per_redirected", "INDUCED_REFERRALS"),
        )
    }
    scheme = demand.ReferralManagement(referrals=got["in_scope"], **fixed)
    result = demand.simulate(scheme, base.unit, draws=100, seed=0)
    assert got["acute_saving"] == pytest.approx(result.acute_saving[0], rel=1e-12)
    assert got["cost"] == pytest.approx(result.scheme_cost[0], rel=1e-12)
    assert got["avoided"] == pytest.approx(result.referrals_avoided[0], rel=1e-12)


def test_freed_up_resources_follow_the_savings_share(scenario):
    for loc in scenario.localities:
        o = e.play_round(scenario, loc, 1, {})
        rule = budgets.freed_up_resources(o["indicative_budget_gbp"], o["spend_gbp"], 0.70)
        assert o["freed_up_gbp"] == pytest.approx(rule, abs=0.01)
        assert o["freed_up_gbp"] == pytest.approx(0.7 * max(o["variance_gbp"], 0.0), abs=0.01)
        assert o["variance_gbp"] == pytest.approx(
            o["indicative_budget_gbp"] - o["spend_gbp"], abs=0.01
        )
        assert o["spend_gbp"] == pytest.approx(sum(x["gbp"] for x in o["spend_breakdown"]), abs=0.1)


def test_an_overspend_is_carried_and_repaid_first():
    s = Scenario(localities=("Eastmarsh Villages",), rounds=3)
    outs = e.replay(s, "Eastmarsh Villages", [{}, {}, {}])
    table = budgets.settle_years(
        [o["indicative_budget_gbp"] for o in outs], [o["spend_gbp"] for o in outs], 0.7
    )
    assert [o["freed_up_gbp"] for o in outs] == pytest.approx(table["freed_up"].tolist())
    assert [o["carried_overspend_gbp"] for o in outs] == pytest.approx(table["carried"].tolist())
    assert any(o["carried_overspend_gbp"] > 0 for o in outs)


# --------------------------------------------------------------------------------------------
# Budgets: workbook 01's rule
# --------------------------------------------------------------------------------------------
def test_round_one_budgets_are_workbook_01s_without_the_allowance():
    strict = Scenario(growth_allowance=False)
    tables = {
        name: getattr(data, f"load_{name}")()
        for name in ("practices", "population", "activity", "prices", "prescribing", "list_sizes")
    }
    uplift = budgets.prescribing_growth(tables["prescribing"], tables["list_sizes"], "2006/07")
    comps = budgets.budget_components(
        tables["activity"], tables["prices"], tables["prescribing"], prescribing_uplift=uplift
    )
    historic = budgets.historic_budgets(comps)
    targets = budgets.capitation_targets(tables["practices"], tables["population"], historic.sum())
    table = budgets.pct_budgets(tables["practices"], historic, targets, 0.25, 0.10)
    by_locality = table.groupby("locality")["budget"].sum()
    for loc in e.LOCALITIES:
        o = e.play_round(strict, loc, 1, {})
        assert o["indicative_budget_gbp"] == pytest.approx(by_locality[loc], abs=0.01)
    allowance = e.growth_allowance_share()
    assert 0.0 < allowance < 0.05
    with_allowance = sum(
        e.play_round(Scenario(), loc, 1, {})["indicative_budget_gbp"] for loc in e.LOCALITIES
    )
    assert with_allowance == pytest.approx(historic.sum() * (1 + allowance), rel=1e-9)


def test_without_the_allowance_a_pct_that_changes_nothing_overspends():
    strict = Scenario(growth_allowance=False, events=())
    budget = planned = 0.0
    for loc in e.LOCALITIES:
        o = e.play_round(strict, loc, 1, {})
        budget += o["indicative_budget_gbp"]
        planned += o["planned_spend_gbp"]
    assert planned / budget - 1 == pytest.approx(e.growth_allowance_share(), rel=1e-6)


# --------------------------------------------------------------------------------------------
# Events: the same for every team, from the seed only
# --------------------------------------------------------------------------------------------
def test_each_event_happens_once_and_only_the_seed_decides(scenario):
    drawn = e.draw_events(scenario)
    assert [r["round"] for r in drawn] == [1, 2, 3]
    keys = [ev["key"] for r in drawn for ev in r["events"]]
    assert sorted(keys) == sorted(e.EVENTS)
    _walk_plain(_json_round_trip(drawn))
    other_names = Scenario(name="Another", localities=("City South",), seed=scenario.seed)
    assert e.draw_events(other_names) == drawn
    assert e.draw_events(Scenario(seed=scenario.seed + 1)) != drawn
    assert all(r["events"] == [] for r in e.draw_events(Scenario(events=())))


def test_switching_an_event_off_leaves_the_others_alone(scenario):
    everything = {
        ev["key"]: (r["round"], ev["effect"]) for r in e.draw_events(scenario) for ev in r["events"]
    }
    fewer = Scenario(events=("hard_winter", "high_cost_patient"))
    some = {
        ev["key"]: (r["round"], ev["effect"]) for r in e.draw_events(fewer) for ev in r["events"]
    }
    assert some == {k: everything[k] for k in ("hard_winter", "high_cost_patient")}


def test_high_cost_patient_comes_from_the_tail():
    for seed in range(20):
        drawn = e.draw_events(Scenario(seed=seed, events=("high_cost_patient",)))
        (event,) = [ev for r in drawn for ev in r["events"]]
        assert event["effect"] > budget_risk.STOP_LOSS_1994_GBP


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    round_no=st.integers(1, 3),
    cms=st.integers(0, 12),
    rm=st.sampled_from(list(e.REFERRAL_SCOPES)),
)
def test_every_team_sees_the_same_events(seed, round_no, cms, rm):
    s = Scenario(seed=seed)
    expected = e.draw_events(s)[round_no - 1]["events"]
    previous = {loc: None for loc in e.LOCALITIES}
    if round_no > 1:
        previous = {
            loc: e.replay(s, loc, [{}] * (round_no - 1))[-1] for loc in ("City Centre", LOC)
        }
    for loc in previous:
        for d in ({}, {"case_managers": cms, "referral_management": rm}):
            o = e.play_round(s, loc, round_no, d, previous[loc])
            assert o["events"] == expected


# --------------------------------------------------------------------------------------------
# Determinism and replay
# --------------------------------------------------------------------------------------------
DECISIONS = [
    {"referral_management": "msk_icats", "case_managers": 2},
    {"freed_up_use": "outpatient_capacity", "risk_share": "pool", "prescribing_initiative": True},
    {
        "freed_up_use": "community_services",
        "priority": "older_people",
        "case_managers": 4,
        "risk_share": "pool_and_stop_loss",
    },
]


def test_replay_equals_chained_rounds_exactly(scenario):
    replayed = e.replay(scenario, LOC, DECISIONS)
    previous = None
    for round_no, d in enumerate(DECISIONS, start=1):
        o = e.play_round(scenario, LOC, round_no, d, previous)
        assert o == replayed[round_no - 1]
        # the store keeps JSON: a round played from the stored outcome is identical
        stored = _json_round_trip(previous) if previous is not None else None
        assert e.play_round(scenario, LOC, round_no, d, stored) == o
        previous = o
    assert json.dumps(e.replay(scenario, LOC, DECISIONS)) == json.dumps(replayed)


def test_outcomes_are_plain_json(scenario):
    for o in e.replay(scenario, "Fellside Town", DECISIONS):
        assert _json_round_trip(o) == o
        _walk_plain(o)
        for key in (
            "indicative_budget_gbp",
            "spend_gbp",
            "variance_gbp",
            "freed_up_gbp",
            "emergency_admissions",
            "emergency_per_1000",
            "rtt_within_18_weeks",
            "risk_of_overspend",
            "risk_taken",
            "bought",
            "decisions",
            "costs",
            "events",
            "notes",
        ):
            assert key in o
        assert 0 <= o["rtt_within_18_weeks"] <= 1 and 0 <= o["risk_of_overspend"] <= 1
        assert all(isinstance(n, str) and n.endswith(".") for n in o["notes"])


def test_same_locality_same_decisions_same_outcome_whoever_plays(scenario):
    assert e.play_round(scenario, LOC, 1, DECISIONS[0]) == e.play_round(
        scenario, LOC, 1, dict(DECISIONS[0])
    )


@FAST
@given(
    cms=st.integers(0, 12),
    rm=st.sampled_from(list(e.REFERRAL_SCOPES)),
    rx=st.booleans(),
    priority=st.sampled_from(list(e.PRIORITIES)),
)
def test_chance_depends_on_the_seed_round_and_risk_share_only(scenario, cms, rm, rx, priority):
    d = {
        "case_managers": cms,
        "referral_management": rm,
        "prescribing_initiative": rx,
        "priority": priority,
    }
    plain = e.play_round(scenario, LOC, 1, {})
    o = e.play_round(scenario, LOC, 1, d)
    assert o["chance_gbp"] == plain["chance_gbp"]
    assert o["indicative_budget_gbp"] == plain["indicative_budget_gbp"]


# --------------------------------------------------------------------------------------------
# Invariants of the model
# --------------------------------------------------------------------------------------------
@FAST
@given(
    cms=st.integers(0, 11),
    rm=st.sampled_from(list(e.REFERRAL_SCOPES)),
    rx=st.booleans(),
    priority=st.sampled_from(list(e.PRIORITIES)),
    risk=st.sampled_from(list(e.RISK_SHARES)),
    loc=st.sampled_from(e.LOCALITIES),
)
def test_another_case_manager_never_reduces_spend(scenario, cms, rm, rx, priority, risk, loc):
    d = {
        "case_managers": cms,
        "referral_management": rm,
        "prescribing_initiative": rx,
        "priority": priority,
        "risk_share": risk,
    }
    one_more = e.play_round(scenario, loc, 1, {**d, "case_managers": cms + 1})
    assert one_more["spend_gbp"] > e.play_round(scenario, loc, 1, d)["spend_gbp"]


def test_case_managers_avoid_nothing_on_the_evercare_evidence(scenario):
    o = e.play_round(scenario, LOC, 1, {"case_managers": 6})
    assert o["emergency_avoided"] == 0.0
    assert "Evercare" in " ".join(o["notes"])
    older = e.play_round(scenario, LOC, 1, {"case_managers": 6, "priority": "older_people"})
    by_hand = 6 * 50 * demand.ADMISSION_RATE_HIGH_RISK.central * 0.05
    assert older["emergency_avoided"] == pytest.approx(by_hand)


def test_case_managers_cannot_exceed_the_high_risk_patients(scenario):
    o = e.play_round(scenario, "City South", 1, {"case_managers": 12, "priority": "older_people"})
    patients = 0.02 * 23_827  # Murphy's 2% at high risk: 477, below 12 x 50 = 600
    rate = demand.ADMISSION_RATE_HIGH_RISK.central
    assert o["emergency_avoided"] == pytest.approx(patients * rate * 0.05)
    assert o["costs"]["case_managers"] == 12 * 45_000.0


def test_risk_share_and_stop_loss_lower_the_risk_carried(scenario):
    for loc in scenario.localities:
        carried = {
            choice: e.play_round(scenario, loc, 1, {"risk_share": choice})["risk_carried_gbp"]
            for choice in e.RISK_SHARES
        }
        assert carried["pool"] < carried["none"]
        assert carried["stop_loss"] < carried["none"]
        assert carried["pool_and_stop_loss"] < min(carried["pool"], carried["stop_loss"])


def test_risk_share_lowers_the_chance_of_overspend_for_a_plan_within_budget(scenario):
    checked = 0
    for loc in scenario.localities:
        alone = e.play_round(scenario, loc, 1, {})
        if alone["planned_spend_gbp"] >= alone["indicative_budget_gbp"]:
            continue
        checked += 1
        for choice in ("pool", "stop_loss", "pool_and_stop_loss"):
            shared = e.play_round(scenario, loc, 1, {"risk_share": choice})
            assert shared["risk_of_overspend"] < alone["risk_of_overspend"]
            # the stop-loss top-slice is what the PCT expects to pay: the plan costs the same
            assert shared["planned_spend_gbp"] == pytest.approx(
                alone["planned_spend_gbp"], abs=0.05
            )
    assert checked >= 2


def test_a_pool_of_one_shares_nothing():
    s = Scenario(localities=(LOC,))
    alone, pooled = (e.play_round(s, LOC, 1, {"risk_share": c}) for c in ("none", "pool"))
    assert pooled["risk_carried_gbp"] == pytest.approx(alone["risk_carried_gbp"])
    assert pooled["spend_gbp"] == pytest.approx(alone["spend_gbp"], abs=0.01)


def test_stop_loss_caps_the_high_cost_patient():
    s = Scenario(events=("high_cost_patient",), rounds=1)
    (event,) = e.draw_events(s)[0]["events"]

    def part(choice: str) -> float:
        o = e.play_round(s, LOC, 1, {"risk_share": choice})
        return next(x["gbp"] for x in o["spend_breakdown"] if x["item"] == "high_cost_patient")

    assert part("none") == pytest.approx(event["effect"], abs=0.01)
    assert part("stop_loss") == pytest.approx(min(event["effect"], 6_000.0), abs=0.01)
    assert part("pool") < part("none") / 3  # seven clusters share it by budget


def test_a_stop_loss_top_slice_is_offset_so_its_net_cost_is_nil(scenario):
    help_text = e.decision_options()["risk_share"]["help"]
    assert "top-slice" in help_text and "offset by the PCT paying" in help_text
    assert "net cost is £0" in help_text and "net effect" in help_text
    plan = {"case_managers": 2, "prescribing_initiative": True}
    for choice in ("stop_loss", "pool_and_stop_loss"):
        capped = e.play_round(scenario, LOC, 1, {**plan, "risk_share": choice})
        alone = e.play_round(scenario, LOC, 1, plan)
        top_slice = capped["costs"]["risk_share"]
        assert top_slice > 1_000_000  # gross, it looks like the dearest decision by far
        offset = next(x["gbp"] for x in capped["spend_breakdown"] if x["item"] == "stop_loss")
        assert offset == -top_slice
        assert capped["net_decision_cost_gbp"] == alone["net_decision_cost_gbp"]
        assert capped["net_decision_cost_gbp"] == e.net_decision_cost(capped["costs"])
        assert capped["net_decision_cost_gbp"] == pytest.approx(
            alone["costs"]["total"], abs=0.01
        )
        assert capped["risk_carried_gbp"] < alone["risk_carried_gbp"]  # what it buys
        assert any("its net cost was £0" in n for n in capped["notes"])
        assert not any("net cost was" in n for n in alone["notes"])


def test_money_in_the_data_pack_reads_as_pounds_before_the_number(scenario):
    pack = e.data_pack(scenario, "City Centre")
    rx = next(r for r in pack["activity"] if r["measure"] == "prescribing")
    line = next(h for h in pack["highlights"] if h.startswith("Prescribing cost"))
    assert line.startswith(f"Prescribing cost: £{rx['locality']:.2f} per patient, ")
    assert line.endswith(f"the PCT average (£{rx['pct_average']:.2f}).")
    plans = [{"risk_share": "pool_and_stop_loss", "case_managers": 3, "priority": "older_people"},
             {"freed_up_use": "community_services", "priority": "older_people"}]
    texts = []
    for loc in e.LOCALITIES:
        texts += e.data_pack(scenario, loc)["highlights"]
        for o in e.replay(scenario, loc, plans):
            texts += [*o["notes"], o["bought"]["effect"], o["risk_taken"]]
    texts += [x["text"] for r in e.draw_events(scenario) for x in r["events"]]
    texts += [spec["help"] for spec in e.decision_options().values()]
    assert not [t for t in texts if re.search(r"\d\s*£|£\s+\d", t)]


@FAST
@given(extra=st.floats(0, 2e6), more=st.floats(0, 2e6), round_no=st.integers(2, 3))
def test_more_capacity_never_worsens_the_18_week_share(scenario, extra, more, round_no):
    previous = e.replay(scenario, LOC, [{}] * (round_no - 1))[-1]
    d = {"freed_up_use": "outpatient_capacity"}
    less = e.play_round(scenario, LOC, round_no, d, {**previous, "freed_up_gbp": extra})
    most = e.play_round(scenario, LOC, round_no, d, {**previous, "freed_up_gbp": extra + more})
    assert most["rtt_within_18_weeks"] >= less["rtt_within_18_weeks"]
    assert most["waiting_list"] <= less["waiting_list"]
    assert most["spend_gbp"] == less["spend_gbp"]  # freed-up money is spent outside the budget


def test_a_pct_that_changes_nothing_follows_englands_18_week_path():
    s = Scenario(events=(), rounds=5)
    shares = [o["rtt_within_18_weeks"] for o in e.replay(s, LOC, [{}] * 5)]
    assert shares == pytest.approx([0.60, 0.90, 0.93, 0.93, 0.93], abs=1e-9)
    assert waiting_list.share_within(waiting_list.mean_wait_for_standard(0.35)) == pytest.approx(
        e.RTT_START
    )


def test_hard_winter_adds_emergency_admissions_and_lengthens_waits():
    with_winter = Scenario(events=("hard_winter",), rounds=1)
    calm = replace(with_winter, events=())
    (event,) = e.draw_events(with_winter)[0]["events"]
    hit, quiet = e.play_round(with_winter, LOC, 1, {}), e.play_round(calm, LOC, 1, {})
    base = e._base(LOC, 1, True).counts["non_elective"]
    assert hit["emergency_admissions"] - quiet["emergency_admissions"] == pytest.approx(
        base * event["effect"], abs=1
    )
    assert hit["rtt_within_18_weeks"] < quiet["rtt_within_18_weeks"]
    assert any(n.startswith("The hard winter added") for n in hit["notes"])


def test_referral_triage_runs_on_the_18_week_clock(scenario):
    plain = e.play_round(scenario, LOC, 1, {})
    centre = e.play_round(scenario, LOC, 1, {"referral_management": "referral_centre"})
    assert centre["referrals_avoided"] > 0
    assert centre["mean_wait_weeks"] > plain["mean_wait_weeks"]  # 2 weeks at the service
    assert centre["gp_referrals_to_hospital"] < plain["gp_referrals_to_hospital"]


# --------------------------------------------------------------------------------------------
# Validation of play_round's inputs
# --------------------------------------------------------------------------------------------
def test_bad_locality_and_rounds(scenario):
    with pytest.raises(WorkshopError, match="'Atlantis' is not one of this workshop's"):
        e.play_round(scenario, "Atlantis", 1, {})
    narrow = Scenario(localities=("City South",))
    with pytest.raises(WorkshopError, match="Choose from: City South"):
        e.play_round(narrow, LOC, 1, {})
    with pytest.raises(WorkshopError, match="from 1 to 3 .this workshop has 3 rounds.; you gave 4"):
        e.play_round(scenario, LOC, 4, {})
    with pytest.raises(WorkshopError, match="you gave 0"):
        e.play_round(scenario, LOC, 0, {})
    with pytest.raises(WorkshopError, match="whole number"):
        e.play_round(scenario, LOC, "1", {})
    with pytest.raises(WorkshopError, match="Give a Scenario"):
        e.play_round(scenario.to_dict(), LOC, 1, {})
    with pytest.raises(WorkshopError, match="Case managers"):
        e.play_round(scenario, LOC, 1, {"case_managers": 40})


def test_previous_must_be_this_teams_last_round(scenario):
    first = e.play_round(scenario, LOC, 1, {})
    with pytest.raises(WorkshopError, match="Round 1 has no previous round"):
        e.play_round(scenario, LOC, 1, {}, first)
    with pytest.raises(WorkshopError, match="Round 2 needs this team's outcome of round 1"):
        e.play_round(scenario, LOC, 2, {})
    with pytest.raises(WorkshopError, match="needs round 1 for 'City Centre'"):
        e.play_round(scenario, "City Centre", 2, {}, first)
    with pytest.raises(WorkshopError, match="needs round 2"):
        e.play_round(scenario, LOC, 3, {}, first)
    with pytest.raises(WorkshopError, match="another seed"):
        e.play_round(Scenario(seed=1), LOC, 2, {}, first)
    with pytest.raises(WorkshopError, match="waiting_list must be a number"):
        e.play_round(scenario, LOC, 2, {}, {**first, "waiting_list": -5})
    with pytest.raises(WorkshopError, match="lacks history"):
        e.play_round(scenario, LOC, 2, {}, {k: v for k, v in first.items() if k != "history"})
    with pytest.raises(WorkshopError, match="budget_gbp"):
        e.play_round(scenario, LOC, 2, {}, {**first, "history": [{"year": "2007/08"}]})


def test_replay_checks_its_list(scenario):
    with pytest.raises(WorkshopError, match="1 to 3 rounds"):
        e.replay(scenario, LOC, [])
    with pytest.raises(WorkshopError, match="1 to 3 rounds"):
        e.replay(scenario, LOC, [{}] * 4)


# --------------------------------------------------------------------------------------------
# Data pack, PCT summary and debrief
# --------------------------------------------------------------------------------------------
def test_data_pack_holds_the_evidence(scenario):
    pack = e.data_pack(scenario, "Eastmarsh Coast")
    assert _json_round_trip(pack) == pack
    _walk_plain(pack)
    assert pack["summary"]["list_size"] == sum(p["list_size"] for p in pack["practices"])
    assert pack["summary"]["list_size"] == 59_740
    first = e.play_round(scenario, "Eastmarsh Coast", 1, {})
    assert pack["budget"]["indicative_budget_gbp"] == first["indicative_budget_gbp"]
    assert pack["budget"]["indicative_budget_gbp"] == pytest.approx(
        sum(p["indicative_budget_gbp"] for p in pack["practices"]), abs=0.05
    )
    rows = {r["measure"]: r for r in pack["activity"]}
    emergency = rows["non_elective"]
    assert emergency["pct_average"] == pytest.approx(94.0, abs=0.05)  # the data's PCT rate
    assert emergency["ratio_to_pct"] == pytest.approx(
        emergency["locality"] / emergency["pct_average"]
    )
    assert pack["last_round"] is None and pack["sources"] and pack["highlights"]
    later = e.data_pack(scenario, "Eastmarsh Coast", 2, first)
    assert later["last_round"]["spend_gbp"] == first["spend_gbp"]
    assert later["freed_up_available_gbp"] == first["freed_up_gbp"]
    with pytest.raises(WorkshopError, match="Round 2 needs"):
        e.data_pack(scenario, "Eastmarsh Coast", 2)


def test_pct_summary_adds_up_the_teams(scenario):
    teams = {
        "Red": e.play_round(scenario, "City Centre", 1, {}),
        "Blue": e.play_round(scenario, "City Centre", 1, {"case_managers": 3}),
        "Green": e.play_round(scenario, "Fellside Town", 1, {"risk_share": "pool"}),
    }
    summary = e.pct_summary(teams)
    _walk_plain(_json_round_trip(summary))
    assert summary["teams"] == 3 and summary["shared_localities"] is True
    assert summary["spend_gbp"] == pytest.approx(sum(o["spend_gbp"] for o in teams.values()))
    assert summary["emergency_admissions"] == sum(o["emergency_admissions"] for o in teams.values())
    assert summary["teams_in_risk_share"] == 1
    assert [r["team"] for r in summary["rows"]] == ["Blue", "Green", "Red"]
    with pytest.raises(WorkshopError, match="one round at a time"):
        second = e.play_round(scenario, "City Centre", 2, {}, teams["Red"])
        e.pct_summary({"Red": teams["Red"], "Late": second})
    with pytest.raises(WorkshopError, match="at least one team"):
        e.pct_summary({})
    with pytest.raises(WorkshopError, match="not a play_round outcome"):
        e.pct_summary({"Red": {"round": 1}})


def test_debrief_rows_put_teams_side_by_side(scenario):
    outcomes = {
        "Red": e.replay(scenario, LOC, DECISIONS),
        "Blue": e.replay(scenario, LOC, [{}, {}, {}]),
    }
    rows = e.debrief_rows(outcomes)
    assert len(rows) == 2 * 3 * len(e.DEBRIEF_MEASURES)
    _walk_plain(_json_round_trip(rows))
    red = {(r["round"], r["measure"]): r["value"] for r in rows if r["team"] == "Red"}
    assert red[(1, "spend_gbp")] == outcomes["Red"][0]["spend_gbp"]
    assert red[(3, "bought_gbp")] == outcomes["Red"][2]["bought"]["amount_gbp"]


def test_role_views_show_the_same_outcomes(scenario):
    teams = {
        "Red": e.play_round(scenario, "City South", 1, {"referral_management": "msk_icats"}),
        "Blue": e.play_round(scenario, "Fellside Dales", 1, {}),
    }
    views = {role: e.role_view(role, teams) for role in e.ROLES}
    for view in views.values():
        _walk_plain(_json_round_trip(view))
    assert [r["team"] for r in views["cluster"]["rows"]] == ["Blue", "Red"]
    assert views["pct"]["spend_gbp"] == e.pct_summary(teams)["spend_gbp"]
    trust = views["acute_trust"]
    assert trust["income_gbp"] == pytest.approx(sum(o["acute_income_gbp"] for o in teams.values()))
    assert trust["rows"][1]["referrals_avoided"] > 0
    with pytest.raises(WorkshopError, match="Unknown role 'gp'"):
        e.role_view("gp", teams)
