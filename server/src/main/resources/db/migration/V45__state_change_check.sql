-- The check that made each state change (the first check in the new state), so that a restart counts the checks of
-- each run of a state (how many down checks in a row, to restore the alerts) by id, the order they were recorded:
-- counted by created_at, the server's clock, a clock set back (NTP, a VM resumed) put the checks of one run into
-- another. Not a foreign key: the checks are pruned by age while the last state change before the cut is kept, and
-- the id still bounds the checks of its run that are left.
ALTER TABLE state_changes ADD COLUMN check_id INTEGER;

-- State changes stored before this version: their check was written in the same transaction, with the same subject,
-- status, error and created_at; taken where exactly one check matches. Where none does (pruned) or several do (the
-- same millisecond twice after the clock was set back) check_id stays NULL, and that run is counted by created_at.
UPDATE state_changes
SET check_id = (SELECT MIN(c.id) FROM checks c
                WHERE c.tunnel_id = state_changes.tunnel_id AND c.service_id IS state_changes.service_id
                  AND c.created_at = state_changes.created_at AND c.status = state_changes.status
                  AND c.error IS state_changes.error)
WHERE (SELECT COUNT(*) FROM checks c
       WHERE c.tunnel_id = state_changes.tunnel_id AND c.service_id IS state_changes.service_id
         AND c.created_at = state_changes.created_at AND c.status = state_changes.status
         AND c.error IS state_changes.error) = 1;
