-- A scorecard reads a question's status only as "open" (ROUTED or ACKNOWLEDGED), but
-- 1005's WHEN clause compared the status itself, so ROUTED -> ACKNOWLEDGED and the moves
-- between answered statuses fired the trigger for a net change of zero (four summary
-- UPDATEs per event). Compare what the summaries read instead.
DROP TRIGGER scorecard_update ON question_facts;
CREATE TRIGGER scorecard_update AFTER UPDATE ON question_facts FOR EACH ROW
    WHEN ((OLD.opd_code, OLD.assigned_at, OLD.answered_at, OLD.answered_within_due,
           OLD.status IN ('ROUTED', 'ACKNOWLEDGED'),
           OLD.channel, OLD.answered_on_the_spot, OLD.rating, OLD.reopened, OLD.answer_working_seconds)
          IS DISTINCT FROM
          (NEW.opd_code, NEW.assigned_at, NEW.answered_at, NEW.answered_within_due,
           NEW.status IN ('ROUTED', 'ACKNOWLEDGED'),
           NEW.channel, NEW.answered_on_the_spot, NEW.rating, NEW.reopened, NEW.answer_working_seconds))
    EXECUTE FUNCTION scorecard_change();
