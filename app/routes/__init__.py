"""HTTP routes: parse input, call one service, map domain errors to status codes, render."""
