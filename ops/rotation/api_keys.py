"""Expiring API keys: the hook that retires keys past their expiry (``ops.apikeys``)."""

import importlib

from ops.rotation.base import RotationStep, StepSkipped

HOOK = "ops.apikeys.api_keys_expire"


class ExpiringApiKeys(RotationStep):
    name = "api_keys"

    def check(self) -> None:
        module_name, _, function = HOOK.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            raise StepSkipped(f"{module_name} does not exist yet") from None
        self.expire = getattr(module, function, None)
        if not callable(self.expire):
            raise StepSkipped(f"{HOOK}() does not exist yet")

    def plan(self) -> str:
        return f"would retire the API keys past their expiry ({HOOK}())"

    def run(self) -> str:
        self.stage = "apply"
        retired = self.expire()
        self.stage = "done"
        if isinstance(retired, int):
            return f"retired {retired} expired API key(s)"
        return f"{HOOK}() done"
