"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the audit trail."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION remediation_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER remediation_auditevent_append_only
    BEFORE UPDATE OR DELETE ON remediation_auditevent
    FOR EACH ROW EXECUTE FUNCTION remediation_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS remediation_auditevent_append_only ON remediation_auditevent;
DROP FUNCTION IF EXISTS remediation_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: no placeholder parsing, so RAISE's '%' reaches PL/pgSQL as is.
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("remediation", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
