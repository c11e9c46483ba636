from cxnlp.cli import app

app(prog_name="cxnlp")
