"""/api/v1 retention: a namespace's managers set, read, plan and remove its policies; others
cannot; bad values and dangerous patterns are a 400 naming the problem; admins run a dry run."""

from __future__ import annotations

from tests.integration.api.conftest import Api, team_space


async def test_a_team_owner_manages_the_policies_of_the_namespace_and_others_cannot(admin: Api) -> None:
    owner, contributor = await admin.new_user(), await admin.new_user()
    team = await admin.new_team(owner)
    await admin.as_(owner).ok("PUT", f"/teams/{team}/members/{contributor}", {"role": "contributor"}, 201)
    name = team_space("keep")
    await admin.ok("POST", "/namespaces", {"name": name, "team": team, "visibility": "protected"}, 201)
    as_owner = admin.as_(owner)

    default = await as_owner.ok("PUT", f"/namespaces/{name}/retention", {"keep_last": 3, "min_age_hours": 24})
    assert (default["keep_last"], default["repository_pattern"], default["updated_by"]) == (3, "", owner)
    apps = await as_owner.ok(
        "PUT", f"/namespaces/{name}/retention",
        {"repository_pattern": "app-*", "keep_last": 1, "match": r"v\d+", "exclude": "tmp-.*", "keep_pulled_within_days": 7},
    )
    listed = await as_owner.ok("GET", f"/namespaces/{name}/retention")
    assert listed["items"] == [default, apps]
    assert (await as_owner.ok("GET", f"/namespaces/{name}/retention/plan"))["items"] == []  # no repositories yet

    as_contributor = admin.as_(contributor)
    assert (await as_contributor.get(f"/namespaces/{name}/retention")).status == 403
    assert (await as_contributor.put(f"/namespaces/{name}/retention", {"keep_last": 0})).status == 403
    assert (await admin.as_(await admin.new_user()).get(f"/namespaces/{team_space('none')}/retention")).status == 404

    for body, words in (
        ({"keep_last": 1, "match": "(a+)+$"}, "--match: a quantifier may only follow one character"),
        ({"keep_last": 1, "exclude": "("}, "--exclude: not a regular expression"),
        ({"keep_last": -1}, "keep-last must be between 0 and 100000"),
        ({"keep_last": True}, "must be an integer"),
        ({"keep_last": 1, "repository_pattern": "App"}, "glob of lowercase"),
        ({"keep_last": 1, "keep": 2}, "unknown field"),
    ):
        reply = await as_owner.put(f"/namespaces/{name}/retention", body)
        assert reply.status == 400 and words in reply.message, (body, reply.body)
    assert (await as_owner.ok("GET", f"/namespaces/{name}/retention"))["items"] == [default, apps]

    await as_owner.ok("DELETE", f"/namespaces/{name}/retention?repository_pattern=app-*", expected=204)
    assert (await as_owner.delete(f"/namespaces/{name}/retention?repository_pattern=app-*")).status == 404
    assert (await as_owner.ok("GET", f"/namespaces/{name}/retention"))["items"] == [default]


async def test_only_admins_run_retention_and_a_dry_run_answers_with_its_report(admin: Api) -> None:
    user = await admin.new_user()
    assert (await admin.as_(user).post("/retention", {"dry_run": True})).status == 403
    assert (await admin.as_(user).get("/retention")).status == 403
    report = await admin.ok("POST", "/retention", {"dry_run": True})
    assert report["dry_run"] is True and report["result"].startswith("retention would delete")
    assert (await admin.ok("GET", "/retention"))["phase"] in ("never run", "done", "failed")
