"""The admin's check form: one field per setting of each kind instead of raw JSON.

The fields are made from the kinds' settings in the registry (checks.kinds), by type.

The form only turns fields into ``Check.config`` and back. Whether a definition is valid is
decided once, by ``Check.clean`` (checks.definitions), for the admin, the YAML import and
the API alike; its messages about the config are pinned here to the field they speak of.
Header values and URL passwords are shown masked; a mask sent back keeps the stored secret.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.html import format_html, format_html_join

from checks.definitions import kind_unknown
from checks.kinds import KINDS, Setting
from checks.models import Check
from checks.sealing import config_keep_masked, config_masked

HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
MAX_HEADERS = 30


class HeadersWidget(forms.Widget):
    """Header rows: a name and a (masked) value per row, plus one empty row to fill in.

    Rows are ``<name>_name_<i>`` / ``<name>_value_<i>`` inputs; check_form.js adds rows.
    """

    def format_value(self, value: Any) -> list[tuple[str, str]]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = {}
        if isinstance(value, Mapping):
            return [(str(k), str(v)) for k, v in value.items()]
        return list(value or [])

    def render(self, name, value, attrs=None, renderer=None):
        rows = [*self.format_value(value), ("", "")]
        html = format_html_join(
            "",
            '<div class="header-row"><input type="text" name="{0}_name_{1}" value="{2}" '
            'aria-label="Header name" placeholder="Name" autocomplete="off">'
            '<input type="text" name="{0}_value_{1}" value="{3}" aria-label="Header value" '
            'placeholder="Value" autocomplete="off" spellcheck="false"></div>',
            ((name, index, key, val) for index, (key, val) in enumerate(rows)),
        )
        return format_html(
            '<div class="header-rows" id="{}">{}'
            '<button type="button" class="header-add" hidden>Add a header</button></div>',
            (attrs or {}).get("id", f"id_{name}"),
            html,
        )

    def value_from_datadict(self, data, files, name):
        pattern = re.compile(rf"^{re.escape(name)}_(name|value)_(\d+)$")
        rows: dict[int, dict[str, str]] = {}
        for key in data:
            match = pattern.match(key)
            if match and int(match[2]) < MAX_HEADERS * 2:
                rows.setdefault(int(match[2]), {})[match[1]] = data.get(key, "")
        return [(rows[i].get("name", ""), rows[i].get("value", "")) for i in sorted(rows)]

    def value_omitted_from_data(self, data, files, name):
        return False


class HeadersField(forms.Field):
    widget = HeadersWidget

    def to_python(self, value: Any) -> dict[str, str]:
        headers: dict[str, str] = {}
        for number, (name, text) in enumerate(HeadersWidget().format_value(value), start=1):
            name, text = name.strip(), text.strip()
            if not name and not text:
                continue
            if not name:
                raise ValidationError(f"row {number}: enter the header's name")
            if not HEADER_NAME.match(name):
                raise ValidationError(f"row {number}: {name!r} is not a valid header name")
            if name.lower() in (key.lower() for key in headers):
                raise ValidationError(f"row {number}: header {name!r} is given twice")
            if "\n" in text or "\r" in text:
                raise ValidationError(f"row {number}: a header value is one line")
            headers[name] = text
        if len(headers) > MAX_HEADERS:
            raise ValidationError(f"at most {MAX_HEADERS} headers")
        return headers

    def has_changed(self, initial, data) -> bool:
        try:
            return self.to_python(initial or {}) != self.to_python(data)
        except ValidationError:
            return True


class ListField(forms.CharField):
    """A comma-separated list (expected statuses, expected DNS answers)."""

    def __init__(self, *, integers: bool = False, **kwargs) -> None:
        self.integers = integers
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list:
        items = [item.strip() for item in str(value or "").split(",") if item.strip()]
        if not self.integers:
            return items
        try:
            return [int(item) for item in items]
        except ValueError:
            raise ValidationError("whole numbers separated by commas, e.g. 200, 204") from None


class LinesField(forms.CharField):
    """One item per line (JSON conditions)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def setting_form_field(setting: Setting) -> forms.Field:
    """The admin's field for one setting of a kind (checks.kinds), by the setting's type."""
    label, help_text = setting.label, setting.help
    if setting.type == "map":
        return HeadersField(label=label, required=False, help_text=help_text)
    if setting.type in ("int_list", "text_list"):
        integers = setting.type == "int_list"
        return ListField(integers=integers, label=label, help_text=help_text)
    if setting.type == "lines":
        return LinesField(label=label, help_text=help_text)
    if setting.type == "choice":
        choices = [(choice, choice) for choice in setting.choices]
        return forms.ChoiceField(
            label=label, choices=choices, initial=setting.initial, required=False
        )
    if setting.type == "bool":
        return forms.BooleanField(label=label, required=False, initial=setting.initial)
    if setting.type == "int":
        return forms.IntegerField(label=label, required=False, help_text=help_text)
    return forms.CharField(label=label, required=False, help_text=help_text)


def kind_fields() -> dict[str, dict[str, forms.Field]]:
    """Each probed kind's settings: config key -> form field (the form names it <kind>_<key>)."""
    return {
        kind.name: {setting.key: setting_form_field(setting) for setting in kind.settings}
        for kind in KINDS.values()
        if kind.settings
    }


KIND_FIELDS = kind_fields()
BASE_FIELDS = (
    "name",
    "kind",
    "interval_s",
    "timeout_s",
    "degraded_ms",
    "failures_before_down",
    "successes_before_up",
    "grace_s",
    "cron",
    "is_enabled",
    "is_paused",
    "locations",
    "quorum",
)


class LocationsField(forms.CharField):
    """Check locations written comma-separated; stored as a list (empty: the default)."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [name.strip() for name in text.split(",") if name.strip()]


def setting_field_names(kind: str) -> tuple[str, ...]:
    return tuple(f"{kind}_{key}" for key in KIND_FIELDS.get(kind, {}))


# Declared on a base class so the admin may name them in its fieldsets.
_SettingFields = type(
    "_SettingFields",
    (forms.Form,),
    {
        f"{kind}_{key}": field
        for kind, fields in KIND_FIELDS.items()
        for key, field in fields.items()
    },
)


class CheckForm(forms.ModelForm, _SettingFields):
    """A check's own fields plus the settings of every kind; only the chosen kind's count."""

    locations = LocationsField(
        required=False,
        help_text="Names of CHECK_LOCATIONS to probe from, comma-separated; "
        "empty: the default location.",
    )

    class Meta:
        model = Check
        fields = BASE_FIELDS

    class Media:
        js = ("js/check_form.js",)
        css = {"all": ("css/check_form.css",)}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            # The registry's message, as the YAML import and the API give it.
            invalid = kind_unknown("%(value)s")
            self.fields["kind"].error_messages["invalid_choice"] = invalid
        if self.instance.pk:
            # Secrets never reach the page: the form starts from the masked settings.
            stored = config_masked(self.instance.config or {})
            for key in KIND_FIELDS.get(self.instance.kind, {}):
                if key in stored:
                    self.initial[f"{self.instance.kind}_{key}"] = stored[key]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind not in KINDS:
            return cleaned
        config: dict[str, Any] = {}
        for key in KIND_FIELDS.get(kind, {}):
            value = cleaned.get(f"{kind}_{key}")
            if isinstance(value, bool) or value not in (None, "", [], {}):
                config[key] = value
        try:
            config = config_keep_masked(config, self.instance.config if self.instance.pk else {})
        except ValueError as exc:
            key = "url" if str(exc).startswith("url") else "headers"
            self.add_error(f"{kind}_{key}", str(exc))
            return cleaned
        self.instance.config = config
        return cleaned

    def _update_errors(self, errors: ValidationError) -> None:
        """Check.clean reports every settings problem under "config": pin each message to
        the field it speaks of, or to the form when it names none."""
        if not hasattr(errors, "error_dict") or "config" not in errors.error_dict:
            return super()._update_errors(errors)
        kind = self.cleaned_data.get("kind", "")
        pinned: dict[str, list] = {}
        for field, messages in errors.error_dict.items():
            for message in messages:
                text = " ".join(message.messages)
                target = _config_field(kind, text) if field == "config" else field
                pinned.setdefault(target, []).append(text)
        return super()._update_errors(ValidationError(pinned))


def _config_field(kind: str, message: str) -> str:
    keys = KIND_FIELDS.get(kind, {})
    if message.startswith("conditions:") and "conditions" in keys:
        return f"{kind}_conditions"
    target = KINDS[kind].target_setting if kind in KINDS else ""
    if message.startswith("target refused") and target:
        return f"{kind}_{target}"
    if "decrypted" in message and "headers" in keys:
        return f"{kind}_headers"
    found = []
    for key in keys:
        match = re.search(r"\b" + key.replace("_", "[_ ]") + r"\b", message, re.IGNORECASE)
        if match:
            found.append((match.start(), key))
    return f"{kind}_{min(found)[1]}" if found else NON_FIELD_ERRORS
