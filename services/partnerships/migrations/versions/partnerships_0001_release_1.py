"""The first release's tables, as `create_all` made them: the baseline of later revisions."""

revision = "partnerships_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the first release created these tables itself."""


def downgrade() -> None:
    """Releases only move forward."""
