"""Baseline: the smallest Flask executor plugin, run under the same gunicorn settings as pressplay.

It authenticates nothing and answers every ``template.execute`` with ``{}`` ("not mine"): the floor that
any Flask + gunicorn plugin pays for HTTP parsing, routing and a JSON reply.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

app = Flask("flask-noop")


@app.post("/api/v1/template.execute")
def execute() -> Response:
    return jsonify({})


@app.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})
