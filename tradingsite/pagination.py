"""Pagination for every list endpoint (kept apart: DRF imports it while loading generics).

A page that does not exist is a mistake in the request, so it answers 400
``validation-error`` on the ``page`` (or ``cursor``) parameter, as any other bad parameter
does, and not DRF's 404 "Invalid page.", which would say that the list itself is missing.
"""

from django.core.paginator import InvalidPage
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Page-numbered lists: 50 a page by default, ``page_size`` up to 500."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_number(self, request, paginator) -> int:
        number = super().get_page_number(request, paginator)  # "last" is the last page
        try:
            return paginator.validate_number(number)
        except InvalidPage:
            last = paginator.num_pages
            past_the_end = str(number).isdigit() and int(number) > last
            message = (
                f"there is no page {int(number)}; the last is {last}"
                if past_the_end
                else f"must be a whole number from 1 to {last}"
            )
        raise ValidationError({self.page_query_param: [message]})


class StandardCursorPagination(CursorPagination):
    """Cursor-paged lists, for tables that only grow (no COUNT, no deep OFFSET)."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {self.cursor_query_param: ["is not a cursor of this list; follow next or previous"]}
            ) from None
