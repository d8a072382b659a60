"""The ceiling for request rates: a Flask hello-world JSON route, served the same way."""

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}
