"""Who calls the hub: users of one operator (or of the hub itself) with a role, and what each role may do.

Roles grant permissions: a `viewer` reads; an `analyst` reads and acts in the cycle (declares, proposes,
accepts or rejects in disputes, reconciles the books with a partner's extract); a `signer` reads, signs
statements and confirms payments; the hub's own `admin` reads everything and runs the hub (operators,
agreements, periods, netting rounds, keys). Operator users act only for their own operator; an admin has
no operator and acts as the hub (`HUB` on the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from o2o.domain.errors import O2OError, ValidationError

HUB_NAME: Final = "HUB"


class AuthenticationError(O2OError):
    """No credentials, or credentials the hub does not accept (unknown, expired or revoked token)."""


class PermissionDeniedError(O2OError):
    """The caller is known but its role does not allow the action."""


class Role(Enum):
    VIEWER = "viewer"
    ANALYST = "analyst"
    SIGNER = "signer"
    ADMIN = "admin"

    @classmethod
    def parse(cls, value: str, field: str = "role") -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise ValidationError(f"{field}: {value!r} is not a role (one of {names})") from None


class Permission(Enum):
    READ = "read"
    ANALYSE = "analyse"
    SIGN = "sign"
    ADMIN = "admin"


GRANTS: Final[dict[Role, frozenset[Permission]]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.ANALYST: frozenset({Permission.READ, Permission.ANALYSE}),
    Role.SIGNER: frozenset({Permission.READ, Permission.SIGN}),
    Role.ADMIN: frozenset({Permission.READ, Permission.ADMIN}),
}


def check_membership(operator: str | None, role: Role) -> None:
    """An admin belongs to the hub (no operator); every other role belongs to one operator."""
    if role is Role.ADMIN and operator is not None:
        raise ValidationError(f"role admin is the hub's own: give --operator {HUB_NAME}, not {operator}")
    if role is not Role.ADMIN and operator is None:
        raise ValidationError(f"role {role.value} belongs to an operator: give --operator OP, not {HUB_NAME}")


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated caller: the user, its operator (None: the hub), its role and the token it used."""

    user_id: str
    user_name: str
    operator: str | None
    role: Role
    token_id: str

    @property
    def is_hub(self) -> bool:
        return self.operator is None

    @property
    def ledger_name(self) -> str:
        """The party the caller acts for, as the ledger names it (its operator, or HUB)."""
        return HUB_NAME if self.operator is None else self.operator

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDeniedError(
                f"{self.user_name} ({self.role.value}) may not do this: it needs {permission.value}"
            )

    def acting_operator(self) -> str:
        """The operator a cycle action is taken for; the hub's admin takes none."""
        if self.operator is None:
            raise PermissionDeniedError(
                f"{self.user_name} is the hub's admin: operators act for themselves in the cycle"
            )
        return self.operator

    def provenance(self) -> dict[str, str]:
        """What a ledger entry records of who did it through the hub."""
        return {"by_user": self.user_id, "by_token": self.token_id, "for": self.ledger_name}
