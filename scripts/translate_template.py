"""Write template.yaml as plain CloudFormation JSON, translated offline as `sam deploy` would.

Why: checkov and the IAM tests must see what SAM generates (each function's role, its managed
policies, the scheduler's role), not only the SAM shorthand. The translation is the local
cloud's (aws-sam-translator, no AWS call); code locations become placeholders.

    python scripts/translate_template.py [OUTPUT]   (default .aws-sam/static/template.json)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from local_cloud.template import translate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / ".aws-sam" / "static" / "template.json"


def main(argv: list[str]) -> None:
    output = Path(argv[0]) if argv else DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    cfn = translate(ROOT / "template.yaml").cfn
    output.write_text(json.dumps(cfn, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(
        f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}\n"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
