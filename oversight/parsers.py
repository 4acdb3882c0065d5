"""The API's JSON parser (settings.REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

Its own module: DRF imports the parser classes while defining APIView, so this
must not import anything that imports rest_framework.views (oversight.api does).
"""

from rest_framework import exceptions, parsers

# Far deeper than any body the API takes (a return is three levels deep), far
# shallower than Python's recursion limit.
MAX_JSON_DEPTH = 32
TOO_DEEP = (
    f"JSON parse error - nested too deeply: at most {MAX_JSON_DEPTH} levels of arrays and objects"
)


def json_depth(value) -> int:
    """How many arrays and objects deep ``value`` goes, without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with deep nesting a 400 instead of a 500: Python's
    decoder recurses and raises RecursionError on a body like ``[[[[…]]]]``."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(TOO_DEEP) from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(TOO_DEEP)
        return data
