"""Pagination for every list endpoint (kept apart: DRF imports it while loading generics)."""

from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Page-numbered lists: 50 a page by default, ``page_size`` up to 500."""

    page_size_query_param = "page_size"
    max_page_size = 500
