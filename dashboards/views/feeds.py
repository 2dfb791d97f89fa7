"""A registry's machine client delivers extracts with a feed token (docs/deliveries.md).

    POST /api/v1/registries/<slug>/extracts        the file: the raw body, or multipart "file"
    GET  /api/v1/registries/<slug>/extracts/<id>   the import's state and counts

Both take ``Authorization: Bearer <token>`` (``manage.py add_feed_token``) and nothing else: a
session cookie counts for nothing here (the request is anonymous whatever it carries), and a
token counts for nothing anywhere else. No token, an unknown or a revoked one: 401; a token of
another registry than the URL's: 403. A delivery goes through the importer's one door
(``queue_upload``): the same file again answers with the earlier extract and counts the
delivery. The state never holds a row's values (refused rows may hold CPR numbers). Every use
is audited (``feed_token_used``) besides the upload's own record.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.http import parse_header_parameters
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from indicators.models import Extract
from indicators.registry import catalog
from indicators.registry.cpr import scrub, scrub_name
from indicators.registry.importer import queue_upload
from indicators.services import feed_tokens
from qualityportal import uploads

CHUNK = 1 << 20
# What a multipart body carries besides the file (boundaries, part headers, small fields).
MULTIPART_SLACK = 64 * 1024
FILE_NAME_MAX = 200


def _error(status: int, code: str, da: str, en: str) -> JsonResponse:
    return JsonResponse(
        {"error": code, "message": f"{da} / {en}", "message_da": da, "message_en": en},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _unauthorized() -> JsonResponse:
    response = _error(
        401,
        "not_authenticated",
        "Der kræves en gyldig leveringsnøgle: Authorization: Bearer <nøgle>.",
        "A valid feed token is needed: Authorization: Bearer <token>.",
    )
    response["WWW-Authenticate"] = 'Bearer realm="kvalitetsportal"'
    return response


def _not_allowed(allowed: str) -> JsonResponse:
    response = _error(
        405,
        "method_not_allowed",
        f"Kun {allowed} er tilladt her.",
        f"Only {allowed} is allowed here.",
    )
    response["Allow"] = allowed
    return response


def _too_large() -> JsonResponse:
    limit = filesizeformat(settings.UPLOAD_MAX_BYTES)
    return _error(
        413,
        "too_large",
        f"Filen er for stor (højst {limit}); intet er gemt.",
        f"The file is too large (at most {limit}); nothing was kept.",
    )


def _token_for(request, registry: str):
    """The request's feed token, or the answer that refuses it. Whatever session the request
    carries is dropped first: here only the token speaks (and the audit names no user)."""
    request.user = AnonymousUser()
    token = feed_tokens.from_authorization(request.META.get("HTTP_AUTHORIZATION"))
    if token is None:
        return None, _unauthorized()
    if token.registry.slug != registry:
        feed_tokens.record_use(token, request, "refused", asked_registry=registry)
        return None, _error(
            403,
            "forbidden",
            f"Nøglen gælder ikke registeret {registry!r}.",
            f"The token is not for the registry {registry!r}.",
        )
    return token, None


class _FeedUploadHandler(FileUploadHandler):
    """First of this view's upload handlers: stops a file part at ``UPLOAD_MAX_BYTES`` (the
    partial file is deleted, the rest of the body read and dropped). The token has been checked
    before the body is read, so unlike ``GuardedUploadHandler`` it does not ask for a user."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        uploads.temp_dir().mkdir(parents=True, exist_ok=True)
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > int(settings.UPLOAD_MAX_BYTES):
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def _file_name(request, registry: str) -> str:
    name = request.META.get("HTTP_X_FILE_NAME", "")
    if not name:
        _value, params = parse_header_parameters(request.META.get("HTTP_CONTENT_DISPOSITION", ""))
        name = params.get("filename", "")
    name = PurePosixPath(name.replace("\\", "/")).name.strip()[:FILE_NAME_MAX]
    return name or f"feed-{registry}.csv"


def _raw_body(request, registry: str):
    """The body streamed into a temporary file (in ``FILE_UPLOAD_TEMP_DIR``, swept of leftovers
    when the portal starts); None when it grows past ``UPLOAD_MAX_BYTES`` (then nothing is
    kept). Never ``request.body``: that holds the whole body in memory."""
    limit = int(settings.UPLOAD_MAX_BYTES)
    uploads.temp_dir().mkdir(parents=True, exist_ok=True)
    upload = TemporaryUploadedFile(
        scrub_name(_file_name(request, registry)),
        request.content_type or "application/octet-stream",
        0,
        None,
    )
    received = 0
    try:
        while chunk := request.read(CHUNK):
            received += len(chunk)
            if received > limit:
                upload.close()  # a NamedTemporaryFile: closing deletes it
                return None
            upload.write(chunk)
    except BaseException:
        upload.close()
        raise
    upload.flush()
    upload.size = received
    upload.seek(0)
    return upload


def _cut_short(request, upload) -> bool:
    """The client said how long the body is and sent less (it was cut off): keep nothing."""
    try:
        promised = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return bool(promised) and upload.size != promised


def _multipart_file(request):
    """The multipart field "file" (on disk, stopped at the limit), or an error answer."""
    request.upload_handlers = [_FeedUploadHandler(request), TemporaryFileUploadHandler(request)]
    try:
        files = request.FILES.getlist("file")
    except RequestDataTooBig:
        return None, _too_large()
    except (MultiPartParserError, SuspiciousOperation):
        return None, _error(
            400,
            "bad_request",
            "Forespørgslens multipart-indhold kan ikke læses.",
            "The request's multipart body cannot be read.",
        )
    if getattr(request, "upload_too_large", False):
        return None, _too_large()
    if len(files) > 1:
        return None, _error(
            400,
            "one_file",
            'Send én fil ad gangen i feltet "file".',
            'Send one file at a time in the field "file".',
        )
    if not files or not files[0].size:
        return None, _no_file()
    return files[0], None


def _no_file() -> JsonResponse:
    return _error(
        400,
        "no_file",
        "Ingen fil modtaget: send filen som forespørgslens indhold eller i multipart-feltet "
        '"file".',
        'No file received: send the file as the request body or in the multipart field "file".',
    )


def _state_url(request, registry: str, extract: Extract) -> str:
    return request.build_absolute_uri(
        reverse("api_registry_extract", kwargs={"registry": registry, "pk": extract.pk})
    )


@csrf_exempt
@never_cache
def registry_extracts(request, registry: str):
    """Deliver an extract: 202 with the extract's id and where to follow its import."""
    token, refused = _token_for(request, registry)
    if refused is not None:
        return refused
    if request.method != "POST":
        return _not_allowed("POST")
    try:
        catalog.spec(registry)
    except catalog.UnknownRegistry as unknown:
        return _error(404, "unknown_registry", unknown.da, unknown.en)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    multipart = request.content_type == "multipart/form-data"
    if length > int(settings.UPLOAD_MAX_BYTES) + (MULTIPART_SLACK if multipart else 0):
        # Refused before a byte is read.
        feed_tokens.record_use(token, request, "upload", refused=413, bytes=length)
        return _too_large()
    if multipart:
        upload, refused = _multipart_file(request)
    else:
        upload = _raw_body(request, registry)
        refused = _too_large() if upload is None else None
        if upload is not None and not upload.size:
            upload.close()
            upload, refused = None, _no_file()
        elif upload is not None and _cut_short(request, upload):
            upload.close()
            upload, refused = (
                None,
                _error(
                    400,
                    "cut_short",
                    "Filen kom ikke helt frem (færre byte end Content-Length); intet er gemt.",
                    "The file did not arrive whole (fewer bytes than Content-Length); nothing was "
                    "kept.",
                ),
            )
    if refused is not None:
        feed_tokens.record_use(token, request, "upload", refused=refused.status_code)
        return refused
    if not feed_tokens.still_active(token):  # revoked while the body was on its way
        upload.close()
        return _unauthorized()
    try:
        outcome = queue_upload(
            upload,
            profile_slug=registry,
            user=None,
            request=request,
            via="api",
            feed_token=token,
        )
    finally:
        upload.close()  # the file was moved into the storage; this only tidies up
    extract = outcome.extract
    feed_tokens.record_use(
        token, request, "upload", extract=extract, already_imported=outcome.already_imported
    )
    url = _state_url(request, registry, extract)
    response = JsonResponse(
        {
            "extract": extract.pk,
            "status": extract.status,
            "already_imported": outcome.already_imported,
            "deliveries": extract.deliveries,
            "status_url": url,
        },
        status=202,
    )
    response["Location"] = url
    return response


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def state_of(extract: Extract) -> dict:
    """What a client may know of an import: its state and counts, never a row's values."""
    return {
        "id": extract.pk,
        "registry": extract.registry.slug,
        "status": extract.status,
        "finished": extract.is_finished,
        "progress": extract.progress,
        "rows_read": extract.rows_read,
        "rows_imported": extract.rows_imported,
        "rows_rejected": extract.rows_rejected,
        "is_current": extract.is_current,
        "awaiting_confirmation": extract.awaiting_confirmation,
        "deliveries": extract.deliveries,
        "message_da": scrub(extract.message_da),
        "message_en": scrub(extract.message_en),
        "file_name": scrub(extract.file_name),
        "uploaded_at": _iso(extract.uploaded_at),
        "last_delivered_at": _iso(extract.last_delivered_at),
        "finished_at": _iso(extract.finished_at),
    }


@csrf_exempt
@never_cache
def registry_extract(request, registry: str, pk: int):
    """An extract's import, as its registry's client follows it."""
    token, refused = _token_for(request, registry)
    if refused is not None:
        return refused
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET")
    extract = Extract.objects.select_related("registry").filter(pk=pk, registry=token.registry)
    extract = extract.first()
    if extract is None or not feed_tokens.delivered_by(token, extract):
        return _error(
            404,
            "unknown_extract",
            f"Registeret {registry!r} har intet udtræk nr. {pk}.",
            f"The registry {registry!r} has no extract {pk}.",
        )
    feed_tokens.record_use(token, request, "status", extract=extract)
    return JsonResponse(state_of(extract), json_dumps_params={"ensure_ascii": False})
