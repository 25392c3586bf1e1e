#!/usr/bin/env python3
"""The gRPC contract, checked through stubs nobody here wrote.

The stubs are compiled from proto/ by the protoc of grpcio-tools (see .ci/run);
error details are decoded with googleapis-common-protos' google.rpc messages.

    PYTHONPATH=STUBS_DIR TOKEN=... grpc_clients.py HOST:PORT [TOKEN]

Prints one line per check; exits 1 at the first mismatch. The last line names the
incident it created, for the buf curl step that follows.
"""

import base64
import json
import os
import sys
import uuid

import grpc
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2

from incident.v1 import incident_pb2 as pb
from incident.v1 import incident_pb2_grpc
from incident.v1 import reference_data_pb2 as reference_pb
from incident.v1 import reference_data_pb2_grpc
from incident.v1 import types_pb2 as types

HEADQUARTERS = "f7c5a629-fcf0-5fa6-b9af-17d7c2a4da65"  # the demo organization


def fail(message):
    print(f"FAIL {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message, detail=""):
    if not condition:
        fail(f"{message}: {detail}" if detail else message)
    print(f"ok   {message}")


def refused(call, request, code, what):
    """The call fails with `code`; answers the google.rpc.Status of its details trailer."""
    try:
        call(request)
    except grpc.RpcError as error:
        check(error.code() == code, f"{what}: {code.name}",
              f"got {error.code().name} {error.details()}")
        trailer = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
        check(trailer is not None, f"{what}: a grpc-status-details-bin trailer")
        status = status_pb2.Status.FromString(trailer)
        check(status.code == code.value[0], f"{what}: the trailer's Status has the same code",
              str(status.code))
        return status
    fail(f"{what}: {code.name}: the call succeeded")


def detail(status, message_type):
    """The first detail of that type in a google.rpc.Status, unpacked."""
    for any_detail in status.details:
        if any_detail.Is(message_type.DESCRIPTOR):
            unpacked = message_type()
            any_detail.Unpack(unpacked)
            return unpacked
    fail(f"no {message_type.DESCRIPTOR.full_name} among {[d.type_url for d in status.details]}")


def read_until(stream, done, what):
    """The messages of a server stream up to the first that `done` accepts; then cancelled."""
    seen = []
    try:
        for response in stream:
            seen.append(response)
            if done(response):
                return seen
    except grpc.RpcError as error:
        fail(f"{what}: {error.code().name} {error.details()} after {len(seen)} messages")
    finally:
        stream.cancel()
    fail(f"{what}: the stream ended after {len(seen)} messages")


def as_json(value):
    """A google.protobuf.Value as the JSON it stands for; fails on a Value with no kind."""
    if value.WhichOneof("kind") is None:
        fail(f"a FieldChange value that is no JSON (no kind set): {value!r}")
    return json_format.MessageToDict(value)


def claims(token):
    """The claims of a JWT, read without checking it: the server checks it."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def main():
    address = sys.argv[1]
    token = sys.argv[2] if len(sys.argv) > 2 else os.environ["TOKEN"]
    channel = grpc.insecure_channel(address)
    stub = incident_pb2_grpc.IncidentServiceStub(channel)
    reference = reference_data_pb2_grpc.ReferenceDataServiceStub(channel)
    auth = (("authorization", f"Bearer {token}"),)

    def call(method):
        return lambda request: method(request, metadata=auth, timeout=10)

    word = "grpcclient" + uuid.uuid4().hex[:10]  # so that the search finds this one alone
    occurred = Timestamp(seconds=1795167000)  # 2026-11-20T09:30:00Z
    discovered = Timestamp(seconds=1795170600)  # 2026-11-20T10:30:00Z

    created = call(stub.CreateIncident)(pb.CreateIncidentRequest(incident=pb.IncidentCreate(
        name=f"Fax sent to the wrong number {word}",
        org_group_id=HEADQUARTERS,
        incident_type_name="Misdirected Email",
        date_occurred=occurred,
        date_discovered=discovered,
        notification_needed=types.NotificationNeeded.YES,
        attribute_values={"Severity": pb.AttributeValuesInput(
            values=[pb.AttributeValueInput(value="High")])},
        jurisdictions=[pb.JurisdictionInput(country_code="CAN", state_province_code="ON"),
                       pb.JurisdictionInput(country_code="DEU")],
    )))
    check(str(uuid.UUID(created.id)) == created.id, "create: the id is a UUID", created.id)
    check(created.revision == 1 and created.etag, "create: revision 1 with an etag",
          f"{created.revision} {created.etag!r}")

    got = call(stub.GetIncident)(pb.GetIncidentRequest(incident_id=created.id))
    check(got == created, "get: the incident the create answered")
    check(got.name == f"Fax sent to the wrong number {word}"
          and got.org_group_name == "Headquarters"
          and got.incident_type_name == "Misdirected Email", "get: name, organization, type",
          f"{got.name} / {got.org_group_name} / {got.incident_type_name}")
    check(got.date_occurred == occurred, "get: dateOccurred", str(got.date_occurred))
    check([v.value for v in got.attribute_values["Severity"].values] == ["High"],
          "get: attributeValues[Severity]", str(got.attribute_values))
    check([(j.country_code, j.state_province_name) for j in got.jurisdictions]
          == [("CAN", "Ontario"), ("DEU", "")], "get: jurisdictions", str(got.jurisdictions))
    germany = got.jurisdictions[1]
    check(germany.notify_authority == types.NotifyState.NOTIFICATION_REQUIRED
          and germany.notify_authority_deadline == Timestamp(seconds=1795170600 + 72 * 3600),
          "get: DEU authority REQUIRED, 72 hours after dateDiscovered", str(germany))
    check([g.rule_id for g in germany.guidances] == ["eu-gdpr-art-33", "eu-gdpr-art-34"]
          and germany.guidances[0].window.unit == types.WindowUnit.HOURS
          and germany.guidances[0].window.amount == 72
          and not germany.guidances[0].HasField("notified_at"),
          "get: DEU guidances with the rule ids and windows of the catalogue",
          str(germany.guidances))

    # An update of one field under the etag read.
    update = pb.UpdateIncidentRequest(
        incident_id=got.id, incident=pb.IncidentUpdate(root_cause="Speed dial"),
        update_mask=FieldMask(paths=["rootCause"]), etag=got.etag)
    updated = call(stub.UpdateIncident)(update)
    check(updated.revision == 2 and updated.etag != got.etag,
          "update with the etag: revision 2, new etag", f"{updated.revision} {updated.etag}")
    check(updated.root_cause == "Speed dial" and updated.name == got.name
          and updated.attribute_values == got.attribute_values,
          "update: rootCause set, the rest unchanged", str(updated))

    # The same etag again is stale: ABORTED, reason STALE_ETAG, with the current revision.
    status = refused(call(stub.UpdateIncident), update, grpc.StatusCode.ABORTED, "stale etag")
    info = detail(status, error_details_pb2.ErrorInfo)
    check(info.domain == "incidentd" and info.reason == "STALE_ETAG",
          "stale etag: ErrorInfo incidentd/STALE_ETAG", f"{info.domain}/{info.reason}")
    check(info.metadata.get("currentRevision") == "2", "stale etag: metadata currentRevision 2",
          str(dict(info.metadata)))

    # A blank name: INVALID_ARGUMENT whose BadRequest names the field by its request path.
    status = refused(call(stub.CreateIncident), pb.CreateIncidentRequest(
        incident=pb.IncidentCreate(name=" ", org_group_id=HEADQUARTERS)),
        grpc.StatusCode.INVALID_ARGUMENT, "blank name")
    violations = detail(status, error_details_pb2.BadRequest).field_violations
    check([v.field for v in violations] == ["incident.name"],
          "blank name: BadRequest names incident.name", str(violations))
    check(detail(status, error_details_pb2.ErrorInfo).reason == "INVALID_ARGUMENT",
          "blank name: ErrorInfo reason INVALID_ARGUMENT")

    status = refused(call(stub.CreateIncident), pb.CreateIncidentRequest(incident=pb.IncidentCreate(
        name="Unknown severity", org_group_id=HEADQUARTERS,
        attribute_values={"Severity": pb.AttributeValuesInput(
            values=[pb.AttributeValueInput(value="Extreme")])})),
        grpc.StatusCode.INVALID_ARGUMENT, "unknown Severity option")
    violations = detail(status, error_details_pb2.BadRequest).field_violations
    check([v.field for v in violations] == ['incident.attributeValues["Severity"].values[0].value'],
          'unknown option: BadRequest names incident.attributeValues["Severity"].values[0].value',
          str(violations))

    found = call(stub.SearchIncidents)(pb.SearchIncidentsRequest(full_text=word, size=5))
    check(found.total_elements == 1 and [s.incident_id for s in found.incidents] == [created.id],
          "search: finds the incident, alone", str([s.incident_id for s in found.incidents]))
    check(found.incidents[0].revision == 2, "search: at its latest revision",
          str(found.incidents[0].revision))

    rules = call(reference.ListNotificationRules)(
        reference_pb.ListNotificationRulesRequest(country_code="DEU"))
    check(rules.catalogue_version and {"eu-gdpr-art-33", "eu-gdpr-art-34"}
          <= {r.rule_id for r in rules.rules}, "rules: DEU lists the GDPR's articles 33 and 34",
          str([r.rule_id for r in rules.rules]))

    # A notification to the authority, recorded after the search (which saw revision 2).
    sent = Timestamp(seconds=1795170600 + 48 * 3600)
    notified = call(stub.RecordNotification)(pb.RecordNotificationRequest(
        incident_id=created.id, country_code="DEU", recipient=types.Recipient.AUTHORITY,
        notified_at=sent, reference="BfDI-1"))
    guidance = notified.jurisdictions[1].guidances[0]
    check(notified.revision == 3 and guidance.notified_at == sent
          and guidance.reference == "BfDI-1" and guidance.HasField("late") and not guidance.late
          and notified.jurisdictions[1].number_of_addressed_guidances == 1,
          "record notification: addressed, on time, revision 3", str(guidance))
    status = refused(call(stub.RecordNotification), pb.RecordNotificationRequest(
        incident_id=created.id, country_code="FRA", recipient=types.Recipient.AUTHORITY,
        notified_at=sent), grpc.StatusCode.INVALID_ARGUMENT, "notification for FRA")
    violations = detail(status, error_details_pb2.BadRequest).field_violations
    check([v.field for v in violations] == ["countryCode"],
          "notification for FRA: BadRequest names countryCode", str(violations))

    # Workflows: the default one, and closing refused while notifications are owed.
    workflows = call(reference.ListWorkflows)(reference_pb.ListWorkflowsRequest())
    default = [w for w in workflows.workflows if w.name == "Incident Workflow"]
    check(len(default) == 1 and [s.name for s in default[0].stages]
          == ["Intake", "Investigation", "Remediation", "Notification", "Closed"]
          and created.incident_stage_name == "Intake" and created.workflow_id == default[0].id,
          "workflows: the default one, and the incident in its first stage", str(workflows))
    status = refused(call(stub.UpdateIncidentStage), pb.UpdateIncidentStageRequest(
        incident_id=created.id, next_stage_name="Closed"),
        grpc.StatusCode.FAILED_PRECONDITION, "closing with notifications owed")
    failure = detail(status, error_details_pb2.PreconditionFailure)
    subjects = {v.subject for v in failure.violations}
    check("DEU/INDIVIDUALS" in subjects and "DEU/AUTHORITY" not in subjects
          and detail(status, error_details_pb2.ErrorInfo).reason == "NOTIFICATIONS_REQUIRED",
          "closing: PreconditionFailure names DEU/INDIVIDUALS, not the authority notified",
          str(failure))
    moved = call(stub.UpdateIncidentStage)(pb.UpdateIncidentStageRequest(
        incident_id=created.id, next_stage_name="investigation",
        parameters={"notifyUsers": "false"}, etag=notified.etag))
    check(moved.stage.name == "Investigation" and moved.stage.sequence == 2
          and moved.incident.incident_stage_name == "Investigation" and moved.incident.revision == 4,
          "stage move: Investigation, revision 4", str(moved.stage))

    # Inventory links after creation: kept once, and named when refused.
    asset = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b"
    linked = call(stub.LinkInventory)(pb.LinkInventoryRequest(
        incident_id=created.id, inventory_type="assets", inventory_ids=[asset],
        external_ids=["CMDB-7"]))
    check(list(linked.links.inventory_ids) == [asset]
          and list(linked.incident.linked_inventories["assets"].external_ids) == ["CMDB-7"]
          and linked.incident.revision == 5, "link inventory: the asset linked, revision 5",
          str(linked.links))
    status = refused(call(stub.LinkInventory), pb.LinkInventoryRequest(
        incident_id=created.id, inventory_type="servers", external_ids=["X"]),
        grpc.StatusCode.INVALID_ARGUMENT, "an unknown inventory type")
    violations = detail(status, error_details_pb2.BadRequest).field_violations
    check([v.field for v in violations] == ["inventoryType"],
          "unknown inventory type: BadRequest names inventoryType", str(violations))
    unlinked = call(stub.UnlinkInventory)(pb.UnlinkInventoryRequest(
        incident_id=created.id, inventory_type="assets", id="CMDB-7"))
    check(list(unlinked.linked_inventories["assets"].external_ids) == [],
          "unlink inventory: CMDB-7 removed", str(unlinked.linked_inventories))

    # The events of every change above, replayed from the first one kept.
    def watch(request, seconds):
        return stub.WatchIncidents(request, metadata=auth, timeout=seconds)

    made = [("incident.created", created.revision), ("incident.updated", updated.revision),
            ("incident.notification_recorded", notified.revision),
            ("incident.stage_changed", moved.incident.revision),
            ("incident.inventory_linked", linked.incident.revision),
            ("incident.inventory_unlinked", unlinked.revision)]
    check([revision for _, revision in made] == [1, 2, 3, 4, 5, 6],
          "events: the changes above made revisions 1 to 6", str(made))
    replayed = read_until(watch(pb.WatchIncidentsRequest(after_sequence=0), 15),
                          lambda r: r.event.incident_id == created.id
                          and r.event.revision == unlinked.revision,
                          "watch from afterSequence 0")
    events = [r.event for r in replayed if r.WhichOneof("message") == "event"]
    sequences = [e.sequence for e in events]
    check(sequences == list(range(sequences[0], sequences[0] + len(sequences))),
          "watch from 0: consecutive sequences", str(sequences))
    ours = [e for e in events if e.incident_id == created.id]
    check([(e.type, e.revision) for e in ours] == made,
          "watch from 0: the incident's events, one per change, in order, with their revisions",
          str([(e.type, e.revision) for e in ours]))
    token_claims = claims(token)
    actor = (token_claims["sub"], token_claims.get("name") or token_claims["sub"])
    check(all((e.actor.id, e.actor.name) == actor for e in ours),
          "watch from 0: the actor is the token's sub and name",
          str([(e.actor.id, e.actor.name) for e in ours]))
    check(all(e.event_id and str(uuid.UUID(e.event_id)) == e.event_id
              and e.occurred_at.seconds > 0 for e in ours),
          "watch from 0: every event has an eventId (a UUID) and occurredAt", str(ours[0]))
    changes = [{c.field: (as_json(c.before), as_json(c.after)) for c in e.changes} for e in ours]
    check(changes[0].get("name") == (None, got.name)
          and changes[0].get("incidentTypeName") == (None, "Misdirected Email")
          and all(before is None for before, _ in changes[0].values()),
          "incident.created: changes from null to the fields set, as JSON", str(changes[0]))
    check(changes[1] == {"rootCause": (None, "Speed dial")},
          "incident.updated: rootCause from null to \"Speed dial\"", str(changes[1]))
    check(changes[3] == {"incidentStageName": ("Intake", "Investigation")},
          "incident.stage_changed: incidentStageName from Intake to Investigation", str(changes[3]))

    # Only the types asked for, through the bookmark that follows the replay.
    last = ours[-1].sequence
    stage_move = [e.sequence for e in ours if e.type == "incident.stage_changed"]
    filtered = read_until(
        watch(pb.WatchIncidentsRequest(after_sequence=0, event_types=["incident.stage_changed"]), 20),
        lambda r: r.WhichOneof("message") == "bookmark" and r.bookmark.sequence >= last,
        "watch of incident.stage_changed")
    staged = [r.event for r in filtered if r.WhichOneof("message") == "event"]
    check(all(e.type == "incident.stage_changed" for e in staged)
          and [e.sequence for e in staged if e.incident_id == created.id] == stage_move,
          "watch of incident.stage_changed: only those, the stage move among them",
          str([(e.type, e.sequence) for e in staged]))

    def first(request):
        stream = watch(request, 10)
        try:
            return next(stream)
        finally:
            stream.cancel()

    status = refused(first, pb.WatchIncidentsRequest(event_types=["incident.deleted"]),
                     grpc.StatusCode.INVALID_ARGUMENT, "watch of incident.deleted")
    violations = detail(status, error_details_pb2.BadRequest).field_violations
    check([v.field for v in violations] == ["eventTypes[0]"],
          "watch of incident.deleted: BadRequest names eventTypes[0]", str(violations))
    check(detail(status, error_details_pb2.ErrorInfo).reason == "INVALID_ARGUMENT",
          "watch of incident.deleted: ErrorInfo reason INVALID_ARGUMENT")

    print("gRPC contract checks passed")
    print(f"created incident {created.id}")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as error:  # a call expected to succeed did not
        fail(f"unexpected {error.code().name}: {error.details()}")
