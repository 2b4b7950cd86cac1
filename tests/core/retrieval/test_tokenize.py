from memory_core.retrieval import tokenize
from memory_core.retrieval.tokenize import stem


def test_snake_case_gives_parts_and_whole() -> None:
    assert tokenize("parse_config") == ["pars", "config", "parse_config"]


def test_camel_case_and_acronyms_are_split() -> None:
    terms = tokenize("HTTPServer getUserById")
    assert {"http", "serv", "httpserver", "get", "user", "id", "getuserbyid"} <= set(terms)


def test_dotted_and_kebab_names() -> None:
    assert tokenize("os.path.join") == ["os", "path", "join", "os.path.join"]
    assert "json-rpc" in tokenize("a JSON-RPC call")


def test_stop_words_dropped_and_lowercased() -> None:
    assert tokenize("The Fix for THE bug") == ["fix", "bug"]


def test_inflections_share_a_stem() -> None:
    assert stem("fixes") == stem("fixed") == stem("fixing") == "fix"
    assert stem("parsing") == stem("parse") == stem("parses")
    assert stem("running") == "run"
    assert stem("intermittently") == stem("intermittent")
    assert stem("class") == "class"


def test_numbers_and_short_words_kept() -> None:
    assert tokenize("HTTP 429 v2") == ["http", "429", "2", "v2"]
