"""How the OpenAPI schema describes request signing (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SignedRequestScheme(OpenApiAuthenticationExtension):
    target_class = "ops.signing.SignedRequestAuthentication"
    name = "httpMessageSignature"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Signature",
            "description": (
                "RFC 9421 HTTP Message Signature, hmac-sha256, with Signature-Input covering "
                '"@method" "@authority" "@path" "@query" (and "content-digest" with a body) '
                "and the parameters keyid, created (within 300 s) and a fresh nonce. The "
                "shipped client (tradingsite_client) does this for you."
            ),
        }
