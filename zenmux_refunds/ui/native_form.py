"""A plain HTML form that the browser posts itself.

``rx.el.form`` always prevents the default submission so that it can run a Reflex
event. The sign-in, persona and sign-out endpoints need a real post: they answer with
the HttpOnly session cookie and a redirect, which no WebSocket event can do."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML


class NativeForm(BaseHTML):
    tag = "form"
    action: rx.Var[str]
    method: rx.Var[str]


def native_form(*children, action: str, **props) -> rx.Component:
    return NativeForm.create(*children, action=action, method="post", **props)
