from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from accounts.services import generate_password


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])
    # at most API_TOKEN_DAYS: checked by accounts.services.token_days
    days = IntegerField(_l("Valid for, days"), validators=[Optional(), NumberRange(min=1)])


class PasswordForm(FlaskForm):
    """Change one's own password (the length rules are checked by accounts.services)."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=200)]
    )
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", _l("The passwords do not match."))],
    )


# ---------------------------------------------------------------------------- administration

ROLE_LABELS = {
    "engineer": _l("Engineer"),
    "regulator": _l("Regulator"),
    "admin": _l("Administrator"),
}


class OrganizationForm(FlaskForm):
    """An operating organization; the region's choices (codes) are set by the view. Every
    rule (BIN checksum and uniqueness, the region, lengths) is accounts.services', so that
    all the messages of a submission show at once, next to their fields."""

    name = StringField(_l("Name"))
    bin = StringField(_l("BIN"))
    region = SelectField(_l("Region"), validate_choice=False)
    address = StringField(_l("Address"))
    phone = StringField(_l("Phone"))
    email = StringField(_l("E-mail"))

    def data_for_service(self) -> dict:
        return {k: v for k, v in self.data.items() if k != "csrf_token"}


class _PasswordChoice:
    """A generated password (shown once) or one the administrator types twice."""

    password_mode = RadioField(
        _l("Password"),
        choices=[
            SelectChoice("generate", _l("Generate one and show it once")),
            SelectChoice("set", _l("Set it here")),
        ],
        default="generate",
    )
    password = PasswordField(_l("New password"))
    confirm = PasswordField(_l("Password again"))

    def chosen_password(self) -> str | None:
        """The password to store, or None with the field's error set."""
        if self.password_mode.data == "generate":
            return generate_password()
        if self.password_mode.data != "set":
            self.password_mode.errors = [_l("Choose how to set the password.")]
            return None
        if self.confirm.data != self.password.data:
            self.confirm.errors = [_l("The passwords do not match.")]
            return None
        return self.password.data or ""  # its length is checked by accounts.services


class UserForm(FlaskForm):
    """A user as an administrator edits it. ``org`` holds the organization's BIN and
    ``region`` the region's code (choices set by the view); the rules are those of
    accounts.services.create_user, whose field names these are."""

    email = StringField(_l("E-mail"))
    name = StringField(_l("Full name"))
    role = SelectField(
        _l("Role"), choices=[SelectChoice(*c) for c in ROLE_LABELS.items()], validate_choice=False
    )
    org = SelectField(_l("Organization (engineers)"), validate_choice=False)
    region = SelectField(_l("Region (regulators; empty: the whole country)"), validate_choice=False)

    def data_for_service(self) -> dict:
        return {
            "email": self.email.data,
            "name": self.name.data or "",
            "role": self.role.data,
            "org_bin": self.org.data or None,
            "region_code": self.region.data or None,
        }


class NewUserForm(_PasswordChoice, UserForm):
    pass


class ResetPasswordForm(_PasswordChoice, FlaskForm):
    pass
