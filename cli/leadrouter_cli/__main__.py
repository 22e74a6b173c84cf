from leadrouter_cli.main import run

run()
