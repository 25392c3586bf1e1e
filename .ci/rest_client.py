#!/usr/bin/env python3
"""The REST contract, checked through a client nobody here wrote.

`openapi-python-client` generates the package `incidentd_client` from the served
/api/openapi.json; this script drives a fresh server through that package's models
and `sync_detailed` functions only (no hand-written JSON), so anything the document
gets wrong (a missing field, a type that does not round-trip, a content type)
shows up as a failed check here.

    PYTHONPATH=DIR_HOLDING_incidentd_client TOKEN=... rest_client.py BASE_URL [TOKEN]

Prints one line per check; exits 1 at the first mismatch.
"""

import datetime
import json
import os
import sys
import uuid
from uuid import UUID

import attrs
import httpx
from incidentd_client import AuthenticatedClient
from incidentd_client.api.incidents import (
    create_incident,
    get_incident,
    patch_incident,
    record_notification,
    search_incidents,
    update_incident,
    link_inventory,
    unlink_inventory,
    update_incident_stage,
    update_incident_stage_of_type,
)
from incidentd_client.api.reference_data import list_notification_rules, list_workflows
from incidentd_client.models import (
    AttributeValueInput,
    Incident,
    IncidentCreate,
    IncidentPage,
    IncidentPatch,
    IncidentPatchAttributeValuesType0,
    IncidentSearch,
    IncidentUpdate,
    IncidentUpdateAttributeValuesType0,
    InventoryLinkInput,
    InventoryLinks,
    InventoryTypeName,
    JurisdictionInput,
    NotificationNeeded,
    NotificationRecord,
    NotificationRules,
    Recipient,
    StageUpdate,
    StageUpdateParametersType0,
    Workflow,
    WorkflowStage,
    WorkflowType,
)
from incidentd_client.types import Unset

HEADQUARTERS = UUID("f7c5a629-fcf0-5fa6-b9af-17d7c2a4da65")  # the demo organization


def fail(message):
    print(f"FAIL {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message, detail=""):
    if not condition:
        fail(f"{message}: {detail}" if detail else message)
    print(f"ok   {message}")


def expect(response, status, what):
    """The exact status, and a body the generated client could parse."""
    body = response.content.decode(errors="replace")
    if response.status_code != status:
        fail(f"{what}: HTTP {status}: got {int(response.status_code)} {body}")
    check(response.parsed is not None, f"{what}: HTTP {status}, parsed by the generated client",
          body)
    return response.parsed


def undocumented(value, path):
    """Paths of keys the schema does not define, at any depth: generated models keep
    them in `additional_properties` (which, in a model of a map, holds the map)."""
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in undocumented(item, f"{path}[{i}]")]
    if not attrs.has(type(value)):
        return []
    fields = [f.name for f in attrs.fields(type(value)) if f.name != "additional_properties"]
    extra = value.additional_properties
    if not fields:  # a map: its entries are data
        return [p for k, v in extra.items() for p in undocumented(v, f"{path}.{k}")]
    found = [f"{path}.{k}" for k in extra]
    return found + [p for f in fields for p in undocumented(getattr(value, f), f"{path}.{f}")]


def no_undocumented_fields(model, what):
    found = undocumented(model, type(model).__name__)
    check(not found, f"{what}: every field of the answer is in the schema",
          f"undocumented: {found}")


def main():
    base_url = sys.argv[1]
    token = sys.argv[2] if len(sys.argv) > 2 else os.environ["TOKEN"]
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=False)
    # A word no other incident has, so that the search finds this one alone.
    word = "genclient" + uuid.uuid4().hex[:10]
    occurred = datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.timezone.utc)
    discovered = occurred + datetime.timedelta(hours=1)

    def severity(value):
        values = IncidentUpdateAttributeValuesType0()
        values["Severity"] = [AttributeValueInput(value=value)]
        return values

    # Create.
    created = create_incident.sync_detailed(client=client, body=IncidentCreate(
        name=f"Letter sent to the wrong address {word}",
        org_group_id=HEADQUARTERS,
        incident_type_name="Misdirected Email",
        description="Created by the generated client",
        date_occurred=occurred,
        date_discovered=discovered,
        notification_needed=NotificationNeeded.YES,
        attribute_values=severity("High"),
        jurisdictions=[JurisdictionInput(country_code="CAN", state_province_code="ON"),
                       JurisdictionInput(country_code="DEU")],
    ))
    incident_id = expect(created, 201, "create")
    check(isinstance(incident_id, UUID), "create: the answer parses as a UUID", repr(incident_id))
    raw = json.loads(created.content)
    check(raw == str(incident_id), "create: the body is the id as a bare JSON string",
          created.content.decode())
    check(created.headers.get("location") == f"/api/incident/v1/incidents/{incident_id}",
          "create: Location is the incident's path", str(created.headers.get("location")))
    check(bool(created.headers.get("etag")), "create: ETag is set")

    # Get.
    got = get_incident.sync_detailed(incident_id, client=client)
    incident = expect(got, 200, "get")
    check(isinstance(incident, Incident), "get: an Incident", type(incident).__name__)
    no_undocumented_fields(incident, "get")
    check(incident.id == incident_id, "get: id", str(incident.id))
    check(incident.name == f"Letter sent to the wrong address {word}", "get: name", incident.name)
    check(incident.org_group_id == HEADQUARTERS and incident.org_group_name == "Headquarters",
          "get: organization", f"{incident.org_group_id} {incident.org_group_name}")
    check(incident.incident_type_name == "Misdirected Email", "get: incidentTypeName",
          incident.incident_type_name)
    check(incident.date_occurred == occurred, "get: dateOccurred round-trips as a datetime",
          repr(incident.date_occurred))
    check(isinstance(incident.created_dt, datetime.datetime)
          and incident.created_dt.tzinfo is not None, "get: createdDT is a datetime with an offset",
          repr(incident.created_dt))
    check(incident.notification_needed == NotificationNeeded.YES, "get: notificationNeeded",
          repr(incident.notification_needed))
    severity_values = incident.attribute_values["Severity"]
    check([v.value for v in severity_values] == ["High"], "get: attributeValues.Severity",
          repr(severity_values))
    check([(j.country_code, j.state_province_code) for j in incident.jurisdictions]
          == [("CAN", "ON"), ("DEU", None)], "get: jurisdictions", repr(incident.jurisdictions))
    germany = incident.jurisdictions[1]
    check(germany.notify_authority == "NOTIFICATION_REQUIRED"
          and germany.notify_authority_deadline == discovered + datetime.timedelta(hours=72),
          "get: DEU authority required, 72 hours after dateDiscovered", repr(germany))
    check([g.rule_id for g in germany.guidances] == ["eu-gdpr-art-33", "eu-gdpr-art-34"]
          and germany.guidances[0].notified_at is None, "get: DEU guidances, none notified",
          repr(germany.guidances))
    check(incident.revision == 1, "get: revision 1", str(incident.revision))
    etag = got.headers.get("etag")
    check(etag == created.headers.get("etag"), "get: the ETag of the create",
          f"{etag} != {created.headers.get('etag')}")
    check(incident.etag.strip('"') == etag.strip('"'), "get: etag field matches the ETag header",
          f"{incident.etag} vs {etag}")

    # PUT the incident as read, changed, under If-Match: clients send back what they read.
    body = IncidentUpdate.from_dict(incident.to_dict())
    body.description = "Replaced by PUT"
    put = update_incident.sync_detailed(incident_id, client=client, body=body, if_match=etag)
    updated = expect(put, 200, "put with the current etag")
    no_undocumented_fields(updated, "put")
    check(updated.revision == 2, "put: revision + 1", str(updated.revision))
    check(updated.description == "Replaced by PUT", "put: description replaced",
          repr(updated.description))
    check(updated.name == incident.name and updated.date_occurred == occurred
          and [v.value for v in updated.attribute_values["Severity"]] == ["High"],
          "put: the fields sent back unchanged stay", repr(updated.to_dict()))
    check(put.headers.get("etag") not in (None, etag), "put: a new ETag",
          str(put.headers.get("etag")))

    # The same etag again is stale.
    stale = update_incident.sync_detailed(incident_id, client=client, body=body, if_match=etag)
    error = expect(stale, 412, "put with the stale etag")
    check(error.reason == "STALE_ETAG", "stale put: reason STALE_ETAG", error.reason)

    # 400s name the field at fault, as a path of the body.
    blank = create_incident.sync_detailed(client=client, body=IncidentCreate(
        name=" ", org_group_id=HEADQUARTERS))
    error = expect(blank, 400, "create with a blank name")
    check(error.reason == "INVALID_ARGUMENT", "blank name: reason INVALID_ARGUMENT", error.reason)
    check(error.violations and error.violations[0].field == "name",
          "blank name: violations[0].field == name", repr(error.violations))
    unknown = create_incident.sync_detailed(client=client, body=IncidentCreate(
        name="Unknown severity", org_group_id=HEADQUARTERS, attribute_values=severity("Extreme")))
    error = expect(unknown, 400, "create with an unknown Severity option")
    check(error.violations and error.violations[0].field == "attributeValues.Severity[0].value",
          "unknown option: violations[0].field == attributeValues.Severity[0].value",
          repr(error.violations))

    # A merge patch of one field: only that field changes. If-Match here is the
    # answer's `etag` field, which the schema says is the ETag, for If-Match.
    patched = patch_incident.sync_detailed(
        incident_id, client=client, body=IncidentPatch(root_cause="Autocomplete"),
        if_match=updated.etag)
    after = expect(patched, 200, "patch rootCause")
    no_undocumented_fields(after, "patch")
    check(after.root_cause == "Autocomplete", "patch: rootCause set", repr(after.root_cause))
    check(after.revision == 3, "patch: revision + 1", str(after.revision))
    # Everything but the patched field and the revision's own bookkeeping stays.
    bookkeeping = {"rootCause", "revision", "etag", "updatedDT"}
    before_fields = {k: v for k, v in updated.to_dict().items() if k not in bookkeeping}
    after_fields = {k: v for k, v in after.to_dict().items() if k not in bookkeeping}
    changed = sorted(k for k in before_fields.keys() | after_fields.keys()
                     if before_fields.get(k) != after_fields.get(k))
    check(not changed, "patch: no other field changed", f"changed: {changed}")
    reread = expect(get_incident.sync_detailed(incident_id, client=client), 200, "get after patch")
    check(reread.to_dict() == after.to_dict(), "get after patch: the incident the patch answered")

    # In a merge patch `null` clears: a field, and one attribute of attributeValues.
    cleared = IncidentPatchAttributeValuesType0()
    cleared["Severity"] = None
    patched = patch_incident.sync_detailed(
        incident_id, client=client, body=IncidentPatch(description=None, attribute_values=cleared),
        if_match=after.etag)
    after = expect(patched, 200, "patch description and Severity to null")
    check(after.description is None or isinstance(after.description, Unset),
          "patch null: description cleared", repr(after.description))
    check(not after.attribute_values.additional_properties.get("Severity"),
          "patch null: Severity cleared", repr(after.attribute_values.to_dict()))
    check(after.root_cause == "Autocomplete" and after.revision == 4,
          "patch null: the rest stays, revision + 1", f"{after.root_cause!r} {after.revision}")

    # Search by the unique word.
    found = search_incidents.sync_detailed(
        client=client, body=IncidentSearch(full_text=word), size=5)
    page = expect(found, 200, "search")
    check(isinstance(page, IncidentPage), "search: an IncidentPage", type(page).__name__)
    no_undocumented_fields(page, "search")
    check(page.total_elements == 1 and [s.incident_id for s in page.content] == [incident_id],
          "search: finds the incident, alone", repr([s.incident_id for s in page.content]))
    summary = page.content[0]
    check(summary.revision == 4 and summary.name == incident.name,
          "search: the summary is of the latest revision", f"{summary.revision} {summary.name}")
    check(isinstance(page.next_page_token, Unset) or page.next_page_token is None,
          "search: no next page", repr(page.next_page_token))

    rules = expect(list_notification_rules.sync_detailed(client=client, country_code="DEU"), 200,
                   "notification rules of DEU")
    check(isinstance(rules, NotificationRules)
          and {"eu-gdpr-art-33", "eu-gdpr-art-34"} <= {r.rule_id for r in rules.rules},
          "notification rules: the GDPR's articles 33 and 34", repr(rules))
    no_undocumented_fields(rules, "notification rules")

    # A notification to the authority, two days after discovery: on time.
    sent = discovered + datetime.timedelta(hours=48)
    recorded = record_notification.sync_detailed(incident_id, client=client, body=NotificationRecord(
        country_code="DEU", recipient=Recipient.AUTHORITY, notified_at=sent, reference="BfDI-1"))
    notified = expect(recorded, 200, "record a notification")
    no_undocumented_fields(notified, "record a notification")
    guidance = notified.jurisdictions[1].guidances[0]
    check(guidance.notified_at == sent and guidance.reference == "BfDI-1"
          and guidance.late is False and notified.jurisdictions[1].number_of_addressed_guidances == 1
          and notified.revision == 5, "record a notification: addressed, on time, revision + 1",
          repr(guidance))
    refused_fra = record_notification.sync_detailed(incident_id, client=client, body=NotificationRecord(
        country_code="FRA", recipient=Recipient.AUTHORITY, notified_at=sent))
    error = expect(refused_fra, 400, "a notification for a jurisdiction not on the incident")
    check(error.violations and error.violations[0].field == "countryCode",
          "notification for FRA: violations[0].field == countryCode", repr(error.violations))

    # Workflows, and closing refused while the individuals are owed a notice.
    workflows = expect(list_workflows.sync_detailed(client=client), 200, "list workflows")
    default = [w for w in workflows if isinstance(w, Workflow) and w.name == "Incident Workflow"]
    check(len(default) == 1 and [st.name for st in default[0].stages]
          == ["Intake", "Investigation", "Remediation", "Notification", "Closed"]
          and notified.incident_stage_name == "Intake", "workflows: the default, the incident in Intake",
          repr(workflows))
    for workflow in workflows:
        no_undocumented_fields(workflow, "a workflow")
    refused_close = update_incident_stage_of_type.sync_detailed(
        incident_id, WorkflowType.INCIDENTWORKFLOWTYPE, client=client,
        body=StageUpdate(next_stage_name="Closed"))
    error = expect(refused_close, 409, "closing with notifications owed")
    check(error.reason == "NOTIFICATIONS_REQUIRED"
          and "DEU/INDIVIDUALS" in [p.subject for p in error.preconditions]
          and "DEU/AUTHORITY" not in [p.subject for p in error.preconditions],
          "closing: 409 listing DEU/INDIVIDUALS, not the authority notified", repr(error))
    moved = update_incident_stage.sync_detailed(incident_id, client=client, body=StageUpdate(
        next_stage_name="investigation", parameters=StageUpdateParametersType0(notify_users=False)))
    stage = expect(moved, 200, "a stage move")
    no_undocumented_fields(stage, "a stage move")
    check(isinstance(stage, WorkflowStage) and stage.name == "Investigation" and stage.sequence == 2
          and stage.approval_stage is False and stage.closes_incident is False,
          "stage move: the stage Investigation, as the original answers it", repr(stage))
    bad = update_incident_stage.sync_detailed(incident_id, client=client, body=StageUpdate(
        next_stage_name="Intake"))
    error = expect(bad, 400, "moving back without a justification")
    check([v.field for v in error.violations] == ["parameters.justification"],
          "moving back: violations[0].field == parameters.justification", repr(error.violations))

    # An inventory link after creation, then removed.
    asset = UUID("0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b")
    created_links = expect(link_inventory.sync_detailed(
        incident_id, InventoryTypeName.ASSETS, client=client,
        body=InventoryLinkInput(inventory_ids=[str(asset)], external_ids=["CMDB-7"])), 201,
        "link inventory")
    no_undocumented_fields(created_links, "link inventory")
    check(isinstance(created_links, InventoryLinks) and created_links.inventory_ids == [asset]
          and created_links.external_ids == ["CMDB-7"], "link inventory: the links named",
          repr(created_links))
    unlinked = expect(unlink_inventory.sync_detailed(
        incident_id, InventoryTypeName.ASSETS, "CMDB-7", client=client), 200, "unlink inventory")
    no_undocumented_fields(unlinked, "unlink inventory")
    check(unlinked.linked_inventories["assets"].external_ids == []
          and unlinked.linked_inventories["assets"].inventory_ids == [asset],
          "unlink inventory: CMDB-7 removed, the asset kept", repr(unlinked.linked_inventories))

    print("REST contract checks passed")


if __name__ == "__main__":
    try:
        main()
    except httpx.HTTPError as error:  # no answer at all
        fail(f"{type(error).__name__}: {error}")
