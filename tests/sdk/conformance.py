#!/usr/bin/env python3
"""Conformance of `nodectl emulator` with a client nobody here wrote: Genesys's official Python SDK.

Drives the data-action lifecycle through `PureCloudPlatformClientV2` (its models, its HTTP client,
its deserialiser; no raw HTTP) against an emulator: authenticate, list integrations and actions,
create an action, get it with expand=contract and includeConfig, read both templates, patch it, a
stale-version patch (409), the draft cycle (create, get, patch with a changed contract, validate,
publish), list drafts and actions again, Architect's dependency tracking of the action (flows declared
through the emulator's own PUT /_emulator/flows, the flows consuming it with each flowFilter, the build
status, a rebuild, the 403 of a missing permission), delete, and get the deleted action (404); then the
integrations API (credential types, create an integration and a credential, get and put its
configuration, a stale-version PUT (409), enable it, its custom authentication action, delete).

The SDK's deserialiser is lenient (a number where a string belongs becomes a string, an unknown
field is dropped, an unknown enum value becomes "outdated_sdk_version"), so every response body is
also checked against the model the SDK deserialises it into: each field's JSON type, no field the
model does not know (JSON schemas, which are open, excepted), no enum value the SDK does not know.

Usage: conformance.py BASE_URL INTEGRATION_NAME, with the client credentials in
GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET (the names the Terraform provider
and the `gc` CLI use). Prints `ok <step>` per step; on the first failure prints `FAIL <step>: …`
to stderr and exits 1 (2 for usage, 3 when the SDK is not installed).

Host: the SDK derives the login host by replacing `//api.` with `//login.` in the API host; a base
URL like http://127.0.0.1:PORT has no `api.`, so login and API share it, as the emulator serves both.
No gateway is configured (one from ~/.genesyscloudpython/config is cleared).
"""

import json
import os
import sys
import traceback
import urllib.request

STEPS = [
    "authenticate",
    "list-integrations",
    "list-actions",
    "create-action",
    "get-action",
    "get-templates",
    "patch-action",
    "stale-patch-conflict",
    "create-draft",
    "get-draft",
    "patch-draft",
    "validate-draft",
    "publish-draft",
    "get-published",
    "test-action",
    "list-drafts",
    "list-actions-again",
    "declare-flows",
    "list-consuming-resources",
    "get-dependency-build",
    "dependency-tracking-forbidden",
    "delete-action",
    "get-deleted",
    "list-credential-types",
    "create-integration",
    "get-config",
    "create-credential",
    "get-credential",
    "list-credentials",
    "put-config",
    "stale-config-conflict",
    "enable-integration",
    "list-integrations-expanded",
    "put-credential",
    "list-auth-actions",
    "delete-integration",
    "delete-credential",
]

try:
    import PureCloudPlatformClientV2 as sdk
    from PureCloudPlatformClientV2.rest import ApiException
except ImportError as error:
    print(
        f"FAIL setup: the Genesys Cloud Python SDK is not installed ({error}); "
        "run scripts/test.sh, which installs it (python3 -m pip install PureCloudPlatformClientV2)",
        file=sys.stderr,
    )
    sys.exit(3)


class Failure(Exception):
    """A step's failure, with what went wrong."""


# Models whose JSON is open (JSON Schema): their unknown keys are legitimate.
OPEN_MODELS = {"JsonSchemaDocument", "FlattenedJsonSchemaDocument"}


def conform(data, kind, path, problems):
    """Checks raw JSON `data` against the SDK type `kind` (as in a model's swagger_types)."""
    if data is None:
        return
    if kind.startswith("list["):
        if not isinstance(data, list):
            problems.append(f"{path}: expected a JSON array ({kind}), got {json.dumps(data)[:80]}")
            return
        for index, item in enumerate(data):
            conform(item, kind[5:-1], f"{path}[{index}]", problems)
        return
    if kind.startswith("dict("):
        if not isinstance(data, dict):
            problems.append(f"{path}: expected a JSON object ({kind}), got {json.dumps(data)[:80]}")
            return
        value_kind = kind[5:-1].split(", ", 1)[1]
        for key, value in data.items():
            conform(value, value_kind, f"{path}.{key}", problems)
        return
    primitive = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "datetime": lambda v: isinstance(v, str),
        "date": lambda v: isinstance(v, str),
        "object": lambda v: True,
    }
    if kind in primitive:
        if not primitive[kind](data):
            problems.append(f"{path}: expected {kind}, got {json.dumps(data)[:80]}")
        return
    model = getattr(sdk.models, kind, None)
    if model is None:
        problems.append(f"{path}: the SDK has no model {kind}")
        return
    if not isinstance(data, dict):
        problems.append(f"{path}: expected a JSON object ({kind}), got {json.dumps(data)[:80]}")
        return
    instance = model()
    wire = {instance.attribute_map[attr]: attr_kind for attr, attr_kind in instance.swagger_types.items()}
    for key, value in data.items():
        if key in wire:
            conform(value, wire[key], f"{path}.{key}", problems)
        elif kind not in OPEN_MODELS:
            problems.append(f"{path}: field `{key}` is not in the SDK's {kind} model (the SDK drops it)")


def outdated_enums(value, path, problems):
    """Finds the SDK's marker for an enum value it does not know in a deserialised model."""
    if isinstance(value, str) and value == "outdated_sdk_version":
        problems.append(f"{path}: enum value the SDK does not know (deserialised as outdated_sdk_version)")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            outdated_enums(item, f"{path}[{index}]", problems)
    elif isinstance(value, dict):
        for key, item in value.items():
            outdated_enums(item, f"{path}.{key}", problems)
    elif hasattr(value, "swagger_types"):
        for attr in value.swagger_types:
            outdated_enums(getattr(value, attr), f"{path}.{value.attribute_map[attr]}", problems)


class StrictApiClient(sdk.ApiClient):
    """The SDK's client, with every deserialised response also checked strictly (see the module doc)."""

    def __init__(self, host):
        super().__init__(host=host)
        self.gateway_configuration = None
        self.last_request = "(none)"
        http = self.get_http_client()
        send = http.request

        def recording(options):
            self.last_request = f"{options.method} {options.url}"
            if options.query_params:
                self.last_request += "?" + "&".join(f"{k}={v}" for k, v in options.query_params.items())
            return send(options)

        http.request = recording

    def deserialize(self, response, response_type):
        content_type = response.getheader("Content-Type") or ""
        problems = []
        if response_type != "str" and not content_type.startswith("text/"):
            try:
                data = json.loads(response.data)
            except ValueError as error:
                raise Failure(
                    f"{self.last_request}: response is not JSON ({error}), Content-Type {content_type!r}: "
                    f"{str(response.data)[:300]}"
                )
            if not content_type.startswith("application/json"):
                problems.append(f"Content-Type is {content_type!r}, not application/json")
            conform(data, response_type, "$", problems)
        try:
            value = super().deserialize(response, response_type)
        except Exception as error:  # the SDK's own deserialisation error
            raise Failure(f"{self.last_request}: the SDK cannot deserialise {response_type}: {error!r}")
        outdated_enums(value, "$", problems)
        if problems:
            raise Failure(
                f"{self.last_request}: the {response_type} response does not conform:\n    "
                + "\n    ".join(problems)
                + f"\n  body: {str(response.data)[:600]}"
            )
        return value

    def error_body(self, error):
        """An ApiException's body, deserialised (and checked) as the SDK's ErrorBody."""

        class Body:
            data = error.body

            @staticmethod
            def getheader(name):
                headers = error.headers or {}
                return next((v for k, v in headers.items() if k.lower() == name.lower()), None)

        return self.deserialize(Body, "ErrorBody")


def expect(condition, message):
    if not condition:
        raise Failure(message)


def api_call(client, what, call, *args, **kwargs):
    """Runs an SDK call; an API error becomes a Failure naming the request and the error body."""
    try:
        return call(*args, **kwargs)
    except ApiException as error:
        raise Failure(f"{what}: {client.last_request} answered {error.status} {error.reason}: {error.body}")


def make(model, **attributes):
    """An SDK model (their constructors take no arguments) with `attributes` set through its setters."""
    instance = model()
    for name, value in attributes.items():
        expect(name in instance.swagger_types, f"the SDK's {model.__name__} has no attribute {name}")
        setattr(instance, name, value)
    return instance


def schema(properties, required, title):
    return make(
        sdk.JsonSchemaDocument,
        schema="http://json-schema.org/draft-04/schema#",
        title=title,
        type="object",
        required=required,
        properties=properties,
        additional_properties=True,
    )


# Genesys's test steps, verbatim from its test tool (docs/genesys-evidence.md B.2).
TEN_STEPS = [
    "Validate request body contains simple json (key-value pairs)",
    "Validate draft definition",
    "Validate request body against simple input schema",
    "Perform authentication",
    "Resolve request URL template",
    "Resolve request header templates",
    "Resolve request body template",
    "Execute",
    "Resolve translation map",
    "Apply output transformation",
]

REQUEST_TEMPLATE = '{"user": "${input.userId}"}'
SUCCESS_TEMPLATE = '{"name": ${name}, "department": ${department}}'


def action_config(timeout, url_path):
    return make(
        sdk.ActionConfig,
        timeout_seconds=timeout,
        request=make(
            sdk.RequestConfig,
            request_url_template=f"https://example.invalid/{url_path}/${{input.userId}}",
            request_type="POST",
            headers={"Content-Type": "application/json", "X-Conformance": "sdk"},
            request_template=REQUEST_TEMPLATE,
        ),
        response=make(
            sdk.ResponseConfig,
            translation_map={"name": "$.name", "department": "$.department"},
            translation_map_defaults={"department": '"unknown"'},
            success_template=SUCCESS_TEMPLATE,
        ),
    )


def contract(with_department):
    outputs = {"name": {"type": "string"}}
    if with_department:
        outputs["department"] = {"type": "string"}
    return make(
        sdk.ActionContractInput,
        input=make(
            sdk.PostInputContract,
            input_schema=schema(
                {"userId": {"type": "string", "description": "the user"}}, ["userId"], "Input"
            ),
        ),
        output=make(sdk.PostOutputContract, success_schema=schema(outputs, ["name"], "Output")),
    )


def listed(client, call, what):
    """Every entity of a paged listing (pageSize 100), checking the envelope's counts."""
    entities = []
    page = 1
    while True:
        listing = api_call(client, what, call, page_size=100, page_number=page)
        expect(isinstance(listing.entities, list), f"{what}: no entities array")
        entities.extend(listing.entities)
        expect(listing.page_number == page, f"{what}: pageNumber {listing.page_number}, asked for {page}")
        if not listing.page_count or page >= listing.page_count:
            break
        page += 1
    expect(
        listing.total == len(entities),
        f"{what}: total {listing.total} but {len(entities)} entities were listed",
    )
    return entities


def run(base_url, client_id, client_secret, integration_name, step):
    sdk.configuration.host = base_url
    sdk.configuration.gateway_configuration = None
    client = StrictApiClient(base_url)
    api = sdk.IntegrationsApi(client)

    step("authenticate")
    try:
        client.get_client_credentials_token(client_id, client_secret)
    except ApiException as error:
        raise Failure(f"POST {base_url}/oauth/token answered {error.status} {error.reason}: {error.body}")
    expect(isinstance(client.access_token, str) and client.access_token, "no access token")
    step.ok()

    step("list-integrations")
    integrations = listed(client, api.get_integrations, "GET /api/v2/integrations")
    named = [i for i in integrations if i.name == integration_name]
    expect(
        len(named) == 1,
        f"{len(named)} integrations named {integration_name!r} in {[i.name for i in integrations]}",
    )
    integration = named[0]
    expect(integration.id, "the integration has no id")
    expect(
        integration.integration_type is not None and integration.integration_type.id == "custom-rest-actions",
        f"integration {integration.id} is not of type custom-rest-actions: {integration.integration_type}",
    )
    step.ok()

    step("list-actions")
    before = listed(client, api.get_integrations_actions, "GET /api/v2/integrations/actions")
    for action in before:
        expect(
            action.id and action.name and action.integration_id,
            f"listed action lacks id/name/integrationId: {action}",
        )
    step.ok()

    name = "SDK conformance lookup"
    step("create-action")
    created = api_call(
        client,
        "create",
        api.post_integrations_actions,
        make(
            sdk.PostActionInput,
            category="SDK conformance",
            name=name,
            integration_id=integration.id,
            config=action_config(10, "users"),
            contract=contract(with_department=False),
            secure=False,
        ),
    )
    expect(client.last_response.status == 200, f"create answered {client.last_response.status}, not 200")
    expect(created.id, "the created action has no id")
    expect(created.name == name, f"created name {created.name!r}")
    expect(created.integration_id == integration.id, f"created integrationId {created.integration_id!r}")
    expect(created.category == "SDK conformance", f"created category {created.category!r}")
    expect(created.version == 1, f"a created action is published at version 1, got {created.version!r}")
    expect(created.secure is False, f"created secure {created.secure!r}")
    action_id = created.id
    step.ok()

    step("get-action")
    got = api_call(
        client, "get", api.get_integrations_action, action_id, expand="contract", include_config=True
    )
    expect(got.id == action_id and got.version == 1, f"got id {got.id!r} version {got.version!r}")
    expect(got.config is not None, "includeConfig=true returned no config")
    expect(got.config.timeout_seconds == 10, f"timeoutSeconds {got.config.timeout_seconds!r}")
    request = got.config.request
    expect(request is not None and request.request_type == "POST", f"request config {request}")
    expect(
        request.request_url_template.endswith("/users/${input.userId}"),
        f"requestUrlTemplate {request.request_url_template!r}",
    )
    expect(request.headers.get("X-Conformance") == "sdk", f"headers {request.headers!r}")
    expect(request.request_template_uri, "no requestTemplateUri")
    response = got.config.response
    expect(
        response is not None and response.translation_map == {"name": "$.name", "department": "$.department"},
        f"translationMap {response and response.translation_map!r}",
    )
    expect(
        response.translation_map_defaults == {"department": '"unknown"'},
        f"translationMapDefaults {response.translation_map_defaults!r}",
    )
    expect(response.success_template_uri, "no successTemplateUri")
    expect(got.contract is not None, "expand=contract returned no contract")
    expect(
        got.contract.input is not None and got.contract.input.input_schema is not None,
        "contract without input.inputSchema",
    )
    expect(
        got.contract.input.input_schema.required == ["userId"],
        f"inputSchema.required {got.contract.input.input_schema.required!r}",
    )
    expect(
        got.contract.output is not None and got.contract.output.success_schema is not None,
        "contract without output.successSchema",
    )
    expect(
        set(got.contract.output.success_schema.properties) == {"name"},
        f"successSchema.properties {got.contract.output.success_schema.properties!r}",
    )
    step.ok()

    step("get-templates")
    for file_name, text in (
        ("requesttemplate.vm", REQUEST_TEMPLATE),
        ("successtemplate.vm", SUCCESS_TEMPLATE),
    ):
        template = api_call(client, file_name, api.get_integrations_action_template, action_id, file_name)
        expect(template == text, f"{file_name} is {template!r}, created as {text!r}")
    step.ok()

    step("patch-action")
    patched = api_call(
        client,
        "patch",
        api.patch_integrations_action,
        action_id,
        make(
            sdk.UpdateActionInput,
            category="SDK conformance (patched)",
            name=name + " v2",
            config=action_config(20, "people"),
            version=got.version,
        ),
    )
    expect(patched.id == action_id, f"patch changed the id to {patched.id!r}")
    expect(patched.version > got.version, f"version after patch {patched.version!r}, was {got.version}")
    expect(patched.name == name + " v2", f"patched name {patched.name!r}")
    expect(patched.category == "SDK conformance (patched)", f"patched category {patched.category!r}")
    step.ok()

    step("stale-patch-conflict")
    try:
        api.patch_integrations_action(
            action_id, make(sdk.UpdateActionInput, name=name + " stale", version=got.version)
        )
        raise Failure(f"a patch with the stale version {got.version} was accepted")
    except ApiException as error:
        expect(error.status == 409, f"stale version answered {error.status}, not 409: {error.body}")
        body = client.error_body(error)
        expect(
            body.status == 409 and body.code, f"409 error body: status {body.status!r}, code {body.code!r}"
        )
    step.ok()

    step("create-draft")
    draft = api_call(client, "create draft", api.post_integrations_action_draft, action_id)
    expect(draft.id == action_id, f"the draft's id {draft.id!r} is not the action's {action_id!r}")
    expect(isinstance(draft.version, int), f"draft version {draft.version!r}")
    expect(draft.name == name + " v2", f"draft name {draft.name!r}")
    step.ok()

    step("get-draft")
    got_draft = api_call(
        client,
        "get draft",
        api.get_integrations_action_draft,
        action_id,
        expand="contract",
        include_config=True,
    )
    expect(
        got_draft.version == draft.version,
        f"draft version {got_draft.version!r}, created as {draft.version!r}",
    )
    expect(
        got_draft.config is not None and got_draft.config.timeout_seconds == 20,
        f"draft config {got_draft.config and got_draft.config.timeout_seconds!r}",
    )
    expect(
        got_draft.contract is not None and got_draft.contract.output.success_schema is not None,
        "draft without contract",
    )
    step.ok()

    step("patch-draft")
    patched_draft = api_call(
        client,
        "patch draft",
        api.patch_integrations_action_draft,
        action_id,
        make(sdk.UpdateDraftInput, contract=contract(with_department=True), version=draft.version),
    )
    expect(patched_draft.id == action_id, f"patched draft id {patched_draft.id!r}")
    expect(
        patched_draft.version > draft.version,
        f"draft version after patch {patched_draft.version!r}, was {draft.version}",
    )
    step.ok()

    step("validate-draft")
    validation = api_call(client, "validate", api.get_integrations_action_draft_validation, action_id)
    expect(validation.valid is True, f"the draft is not valid: {validation.errors}")
    step.ok()

    step("publish-draft")
    published = api_call(
        client,
        "publish",
        api.post_integrations_action_draft_publish,
        action_id,
        make(sdk.PublishDraftInput, version=patched_draft.version),
    )
    expect(client.last_response.status == 200, f"publish answered {client.last_response.status}, not 200")
    expect(published.id == action_id, f"publish changed the id to {published.id!r}")
    expect(
        published.version > patched.version,
        f"published version {published.version!r} not above {patched.version}",
    )
    step.ok()

    step("get-published")
    final = api_call(
        client,
        "get published",
        api.get_integrations_action,
        action_id,
        expand="contract",
        include_config=True,
    )
    expect(
        final.version == published.version, f"version {final.version!r}, published as {published.version!r}"
    )
    expect(
        set(final.contract.output.success_schema.properties) == {"name", "department"},
        f"the published contract's successSchema.properties {final.contract.output.success_schema.properties!r}",
    )
    expect(final.config.timeout_seconds == 20, f"timeoutSeconds {final.config.timeout_seconds!r}")
    step.ok()

    step("test-action")
    # Genesys's test endpoint with the SDK's flatten query: the TestExecutionResult, strictly checked
    # like every answer, lists Genesys's steps by number and name; example.invalid never resolves, so
    # step 8 fails with Genesys's 500 body for a connection failure.
    tested = api_call(
        client, "test", api.post_integrations_action_test, action_id, {"userId": "u-1"}, flatten=True
    )
    names = [operation.name for operation in tested.operations]
    expect(names == TEN_STEPS[:8], f"the test's operations are {names}, not Genesys's steps 1 to 8")
    expect(
        [operation.step for operation in tested.operations] == list(range(1, 9)),
        f"step numbers {[operation.step for operation in tested.operations]}",
    )
    failed = tested.operations[-1]
    expect(
        tested.success is False and failed.success is False and failed.error is not None,
        f"step 8 did not fail: {failed}",
    )
    expect(
        failed.error.status == 500
        and failed.error.code == "internal.server.error"
        and [d.error_code for d in failed.error.details] == ["ACTION.REMOTE_ENDPOINT"]
        and failed.error.errors[0].code == "INTERNAL_SERVER_ERROR",
        f"step 8's error body: {failed.error}",
    )
    expect(tested.error == failed.error, "the test's error is not its failed step's")
    step.ok()

    step("list-drafts")
    drafts = listed(client, api.get_integrations_actions_drafts, "GET /api/v2/integrations/actions/drafts")
    expect(all(d.id != action_id for d in drafts), "the published draft is still listed among the drafts")
    step.ok()

    step("list-actions-again")
    after = listed(client, api.get_integrations_actions, "GET /api/v2/integrations/actions")
    mine = [a for a in after if a.id == action_id]
    expect(len(mine) == 1, f"the action is listed {len(mine)} times")
    expect(mine[0].version == published.version and mine[0].name == name + " v2", f"listed as {mine[0]}")
    expect(len(after) == len(before) + 1, f"{len(after)} actions listed, {len(before)} before the create")
    step.ok()

    dependency_tracking(client, base_url, action_id, name + " v2", step)

    step("delete-action")
    api_call(client, "delete", api.delete_integrations_action, action_id)
    expect(client.last_response.status == 204, f"delete answered {client.last_response.status}, not 204")
    step.ok()

    step("get-deleted")
    try:
        api.get_integrations_action(action_id)
        raise Failure("the deleted action is still there")
    except ApiException as error:
        expect(error.status == 404, f"get of a deleted action answered {error.status}, not 404: {error.body}")
        body = client.error_body(error)
        expect(
            body.status == 404 and body.code == "not.found",
            f"404 error body: status {body.status!r}, code {body.code!r}",
        )
    step.ok()

    integrations_lifecycle(client, api, step)


def emulator_put(base_url, path, body):
    """A PUT to the emulator's own endpoints (not Genesys's API: no SDK call exists for them)."""
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        expect(response.status == 204, f"PUT {path} answered {response.status}, not 204")


def dependency_tracking(client, base_url, action_id, action_name, step):
    """Architect's dependency tracking of the action: one flow consuming it by name in its published
    version and by id in its checked-in one, another only in its checked-in version, a third not at
    all; the listing with each flowFilter and as the wrong object type, the build status before and
    after a rebuild, and the 403 of a caller without architect:dependencyTracking:view."""
    architect = sdk.ArchitectApi(client)
    consuming = architect.get_architect_dependencytracking_consumingresources

    step("declare-flows")
    emulator_put(
        base_url,
        "/_emulator/flows",
        {
            "flows": [
                {
                    "name": "Conformance IVR",
                    "type": "INBOUNDCALLFLOW",
                    "published": {"version": "3.0", "actions": [action_name]},
                    "checkedIn": {"version": "4.0", "actions": [action_id]},
                },
                {
                    "name": "Conformance Bot",
                    "type": "DIGITALBOTFLOW",
                    "checkedIn": {"version": "1.0", "actions": [action_name, "Something Else"]},
                },
                {"name": "Unrelated", "published": {"version": "9.0", "actions": ["Something Else"]}},
            ]
        },
    )
    step.ok()

    step("list-consuming-resources")
    every = api_call(client, "consuming resources", consuming, action_id, "DATAACTION")
    shown = [(d.name, d.version, d.type) for d in every.entities]
    expect(
        shown
        == [
            ("Conformance Bot", "1.0", "DIGITALBOTFLOW"),
            ("Conformance IVR", "3.0", "INBOUNDCALLFLOW"),
            ("Conformance IVR", "4.0", "INBOUNDCALLFLOW"),
        ],
        f"consuming resources: {shown}",
    )
    expect(every.total == 3 and every.page_number == 1, f"envelope: total {every.total}, page {every.page_number}")
    ivr = every.entities[1]
    expect(ivr.id and ivr.self_uri == f"/api/v2/flows/{ivr.id}", f"flow selfUri {ivr.self_uri!r}")
    expect(
        ivr.deleted is False and ivr.updated is False and ivr.state_unknown is False,
        f"flow flags: {ivr}",
    )
    published = api_call(client, "published", consuming, action_id, "DATAACTION", flow_filter="published")
    shown = [(d.name, d.version) for d in published.entities]
    expect(shown == [("Conformance IVR", "3.0")], f"published consumers: {shown}")
    checked_in = api_call(client, "checked in", consuming, action_id, "DATAACTION", flow_filter="checkedIn")
    shown = [(d.name, d.version) for d in checked_in.entities]
    expect(shown == [("Conformance Bot", "1.0"), ("Conformance IVR", "4.0")], f"checked-in consumers: {shown}")
    paged = api_call(client, "paged", consuming, action_id, "DATAACTION", page_size=1, page_number=3)
    expect(
        [d.version for d in paged.entities] == ["4.0"] and paged.page_count == 3,
        f"page 3 of 3: {[d.version for d in paged.entities]}, pageCount {paged.page_count}",
    )
    wrong = api_call(client, "as a secure action", consuming, action_id, "SECUREACTION")
    expect(wrong.entities == [] and wrong.total == 0, f"a data action asked about as SECUREACTION: {wrong.total}")
    step.ok()

    step("get-dependency-build")
    build = api_call(client, "build status", architect.get_architect_dependencytracking_build)
    expect(build.status == "OPERATIONAL", f"build status {build.status!r}")
    expect(
        build.date_started is not None and build.date_completed is not None,
        f"build dates: {build.date_started!r}, {build.date_completed!r}",
    )
    expect(build.self_uri == "/api/v2/architect/dependencytracking/build", f"build selfUri {build.self_uri!r}")
    emulator_put(base_url, "/_emulator/dependencytracking", {"status": "OPERATIONALNEEDSREBUILD"})
    stale = api_call(client, "stale build", architect.get_architect_dependencytracking_build)
    expect(stale.status == "OPERATIONALNEEDSREBUILD", f"stale build status {stale.status!r}")
    api_call(client, "rebuild", architect.post_architect_dependencytracking_build)
    expect(client.last_response.status == 202, f"rebuild answered {client.last_response.status}, not 202")
    rebuilt = api_call(client, "rebuilt", architect.get_architect_dependencytracking_build)
    expect(rebuilt.status == "OPERATIONAL", f"rebuilt status {rebuilt.status!r}")
    expect(rebuilt.id != build.id, "a rebuild keeps the build's id")
    expect(rebuilt.date_started >= build.date_started, "the rebuild started before the first build")
    step.ok()

    step("dependency-tracking-forbidden")
    emulator_put(base_url, "/_emulator/dependencytracking", {"forbidden": True})
    for what, call, args in [
        ("consuming resources", consuming, (action_id, "DATAACTION")),
        ("build status", architect.get_architect_dependencytracking_build, ()),
    ]:
        try:
            call(*args)
            raise Failure(f"{what} answered while the permission is missing")
        except ApiException as error:
            expect(error.status == 403, f"{what} without the permission answered {error.status}, not 403")
            body = client.error_body(error)
            expect(
                body.status == 403
                and body.code == "missing.permissions"
                and "architect:dependencyTracking:view" in body.message,
                f"403 error body: status {body.status!r}, code {body.code!r}, message {body.message!r}",
            )
    emulator_put(base_url, "/_emulator/dependencytracking", {"forbidden": False})
    again = api_call(client, "allowed again", consuming, action_id, "DATAACTION")
    expect(again.total == 3, f"allowed again: total {again.total}")
    step.ok()


def integrations_lifecycle(client, api, step):
    """The integrations API: credential types and an integration type's credential keys, an integration created DISABLED, its configuration
    (version 1, then bound to a userDefinedOAuth credential whose values are never read back), a
    stale-version PUT (409), enabling, the custom authentication action listed with
    includeAuthActions, then the integration deleted (its credential stays) and the credential."""
    step("list-credential-types")
    types = api_call(client, "credential types", api.get_integrations_credentials_types)
    by_name = {t.name: t for t in types}
    for name in ["basicAuth", "userDefined", "userDefinedOAuth", "pureCloudOAuthClient"]:
        expect(name in by_name, f"credential type {name} is not listed: {sorted(by_name)}")
    expect(
        set(by_name["pureCloudOAuthClient"].required) == {"clientId", "clientSecret"},
        f"pureCloudOAuthClient requires {by_name['pureCloudOAuthClient'].required!r}",
    )
    web = api_call(client, "integration type", api.get_integrations_type, "custom-rest-actions")
    expect(
        "userDefinedOAuth" in web.credentials["basicAuth"].credential_types,
        f"custom-rest-actions's credentials {web.credentials!r}",
    )
    step.ok()

    step("create-integration")
    created = api_call(
        client,
        "create integration",
        api.post_integrations,
        body=make(
            sdk.CreateIntegrationRequest,
            integration_type=make(sdk.IntegrationType, id="custom-rest-actions"),
        ),
    )
    integration_id = created.id
    expect(integration_id, "the created integration has no id")
    expect(created.intended_state == "DISABLED", f"a new integration is {created.intended_state!r}")
    expect(created.integration_type.id == "custom-rest-actions", f"type {created.integration_type!r}")
    step.ok()

    step("get-config")
    config = api_call(client, "get config", api.get_integration_config_current, integration_id)
    expect(config.version == 1, f"a new integration's configuration is at version {config.version!r}")
    expect(config.credentials in ({}, None), f"a new integration binds {config.credentials!r}")
    step.ok()

    step("create-credential")
    info = api_call(
        client,
        "create credential",
        api.post_integrations_credentials,
        body=make(
            sdk.Credential,
            name="SDK OAuth",
            type=make(sdk.CredentialType, name="userDefinedOAuth"),
            credential_fields={"clientId": "sdk-client", "clientSecret": "sdk-secret", "loginUrl": "https://x.invalid/t"},
        ),
    )
    credential_id = info.id
    expect(credential_id and info.name == "SDK OAuth", f"created {info!r}")
    expect(info.type.name == "userDefinedOAuth", f"type {info.type!r}")
    step.ok()

    step("get-credential")
    credential = api_call(client, "get credential", api.get_integrations_credential, credential_id)
    expect(credential.name == "SDK OAuth", f"name {credential.name!r}")
    fields = credential.credential_fields or {}
    expect("sdk-secret" not in fields.values(), f"a credential's values are answered: {fields!r}")
    step.ok()

    step("list-credentials")
    listing = api_call(client, "list credentials", api.get_integrations_credentials, page_number=1, page_size=25)
    expect(any(c.id == credential_id for c in listing.entities), "the credential is not listed")
    expect(listing.total == len(listing.entities), f"total {listing.total}, {len(listing.entities)} listed")
    cursor = api_call(client, "cursor listing", api.get_integrations_credentials_listing, page_size="200")
    expect(any(c.id == credential_id for c in cursor.entities), "the credential is not in the cursor listing")
    step.ok()

    step("put-config")
    body = make(
        sdk.IntegrationConfiguration,
        name="SDK Integration",
        version=config.version,
        properties={},
        advanced={},
        notes="managed by nodectl",
        credentials={"basicAuth": make(sdk.CredentialInfo, id=credential_id)},
    )
    put = api_call(client, "put config", api.put_integration_config_current, integration_id, body=body)
    expect(put.version == 2, f"version {put.version!r} after the PUT")
    expect(put.credentials["basicAuth"].id == credential_id, f"bound {put.credentials!r}")
    renamed = api_call(client, "get integration", api.get_integration, integration_id)
    expect(renamed.name == "SDK Integration", f"the integration is named {renamed.name!r}")
    step.ok()

    step("stale-config-conflict")
    try:
        api.put_integration_config_current(integration_id, body=body)
        raise Failure("a PUT naming a stale version succeeded")
    except ApiException as error:
        expect(error.status == 409, f"a stale PUT answered {error.status}, not 409: {error.body}")
        expect(client.error_body(error).status == 409, "the error body's status")
    step.ok()

    step("enable-integration")
    enabled = api_call(
        client,
        "enable",
        api.patch_integration,
        integration_id,
        body=make(sdk.Integration, intended_state="ENABLED"),
    )
    expect(enabled.intended_state == "ENABLED", f"intendedState {enabled.intended_state!r}")
    step.ok()

    step("list-integrations-expanded")
    # How nodectl's plan reads managed integrations: one listing with each configuration inline.
    expanded = api_call(
        client, "list integrations", api.get_integrations, page_size=100, expand=["config.current"]
    )
    mine = [i for i in expanded.entities if i.id == integration_id]
    expect(len(mine) == 1, f"the integration is listed {len(mine)} times")
    current = mine[0].config.current if mine[0].config else None
    expect(current is not None, "expand=config.current gives no configuration")
    expect(current.notes == "managed by nodectl", f"notes {current.notes!r}")
    expect(current.credentials["basicAuth"].id == credential_id, f"bound {current.credentials!r}")
    expect(current.credentials["basicAuth"].name == "SDK OAuth", f"bound {current.credentials!r}")
    step.ok()

    step("put-credential")
    # A rotated secret: values and name (where nodectl keeps the fingerprint) in one write.
    rotated = api_call(
        client,
        "put credential",
        api.put_integrations_credential,
        credential_id,
        body=make(
            sdk.Credential,
            name="SDK OAuth v2",
            type=make(sdk.CredentialType, name="userDefinedOAuth"),
            credential_fields={"clientId": "sdk-client", "clientSecret": "sdk-secret-2", "loginUrl": "https://x.invalid/t"},
        ),
    )
    expect(rotated.id == credential_id and rotated.name == "SDK OAuth v2", f"put answered {rotated!r}")
    reread = api_call(client, "get credential", api.get_integrations_credential, credential_id)
    expect("sdk-secret-2" not in (reread.credential_fields or {}).values(), "a credential's values are answered")
    step.ok()

    step("list-auth-actions")
    auth_id = f"customAuth_-_{integration_id}"
    plain = api_call(client, "list", api.get_integrations_actions, page_size=100)
    expect(all(a.id != auth_id for a in plain.entities), "the custom auth action is listed without includeAuthActions")
    with_auth = api_call(
        client, "list with auth", api.get_integrations_actions, page_size=100, include_auth_actions="true"
    )
    auth = [a for a in with_auth.entities if a.id == auth_id]
    expect(len(auth) == 1 and auth[0].version == 1, f"custom auth actions listed: {auth!r}")
    step.ok()

    step("delete-integration")
    api_call(client, "delete integration", api.delete_integration, integration_id)
    try:
        api.get_integrations_action(auth_id)
        raise Failure("the custom auth action outlived its integration")
    except ApiException as error:
        expect(error.status == 404, f"get of the custom auth action answered {error.status}, not 404")
    kept = api_call(client, "get credential", api.get_integrations_credential, credential_id)
    expect(kept.id == credential_id, "the credential went with the integration")
    step.ok()

    step("delete-credential")
    api_call(client, "delete credential", api.delete_integrations_credential, credential_id)
    expect(client.last_response.status == 204, f"delete answered {client.last_response.status}, not 204")
    step.ok()


class Steps:
    """Prints `ok <step>` as each step passes; remembers the current one for the failure message."""

    def __init__(self):
        self.current = "setup"
        self.done = []

    def __call__(self, name):
        assert name in STEPS, name
        self.current = name

    def ok(self):
        print(f"ok {self.current}", flush=True)
        self.done.append(self.current)


def main(argv):
    if len(argv) != 3 or argv[1].startswith("-"):
        print(
            "usage: conformance.py BASE_URL INTEGRATION_NAME (credentials in GENESYSCLOUD_OAUTHCLIENT_ID and "
            "GENESYSCLOUD_OAUTHCLIENT_SECRET)",
            file=sys.stderr,
        )
        return 2
    base_url, integration_name = argv[1].rstrip("/"), argv[2]
    client_id = os.environ.get("GENESYSCLOUD_OAUTHCLIENT_ID")
    client_secret = os.environ.get("GENESYSCLOUD_OAUTHCLIENT_SECRET")
    if not client_id or not client_secret:
        print(
            "FAIL setup: set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET", file=sys.stderr
        )
        return 2
    print(f"PureCloudPlatformClientV2 {sdk_version()} against {base_url}", flush=True)
    steps = Steps()
    try:
        run(base_url, client_id, client_secret, integration_name, steps)
    except Failure as failure:
        print(f"FAIL {steps.current}: {failure}", file=sys.stderr)
        return 1
    except Exception as error:  # anything the SDK raised that is not an API error
        traceback.print_exc()
        print(f"FAIL {steps.current}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    missing = [s for s in STEPS if s not in steps.done]
    if missing:
        print(f"FAIL: steps not run: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"all {len(steps.done)} steps ok")
    return 0


def sdk_version():
    try:
        from importlib.metadata import version

        return version("PureCloudPlatformClientV2")
    except Exception:
        return "(unknown version)"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
