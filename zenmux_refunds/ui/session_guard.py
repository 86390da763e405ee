"""Before every event a tab sends (its hydration included), check whose session the
tab's socket carries. When it is not the one the tab's states were filled for — signed
out, expired, revoked, another account signed in, or a tab token replayed without the
cookie — reset every per-user state first, so the browser is never sent the previous
account's data, and nothing cached answers for a session that does not resolve."""

from __future__ import annotations

import logging

from reflex.middleware import Middleware

from zenmux_refunds.services import auth, preferences
from zenmux_refunds.ui.auth_state import AuthState, guard_resolved

log = logging.getLogger(__name__)


def _per_user_states() -> list[type]:
    """AuthState and every state below it (page states, the dialog, the demo bar)."""
    found, todo = [], [AuthState]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.get_substates())
    return found


class SessionGuard(Middleware):
    async def preprocess(self, app, state, event):
        auth_state = await state.get_state(AuthState)
        token = auth_state.session_token()
        found = preferences.signed_in(token)  # the account and its Locale, one read
        account = found[0] if found is not None else None
        owner = f"{account.id}:{auth.session_key(token)}" if account is not None else ""
        if owner != auth_state._owner:
            # Load every per-user state (a Redis state manager loads them lazily) so
            # that none keeps the previous session's data, then reset them all.
            for cls in _per_user_states():
                await auth_state.get_state(cls)
            auth_state.reset()  # its own vars, backend ones included, and every substate
            auth_state._owner = owner
            log.info("session changed on a tab: per-user states reset")
        auth_state._show_account(account)
        guard_resolved(token, found)  # the handler's first session check takes it
        return None
