-- User agents are the widest column of events (120 bytes on average, a quarter of a row) and
-- among the fewest values (hundreds in an organisation): events keep an id into a table of
-- their exact values instead, NULL when a record has none. Loads write a quarter fewer bytes
-- per row, and a wildcard on the user agent is tested once per distinct value.
CREATE TABLE user_agents (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);

ALTER TABLE events ADD COLUMN user_agent_id INTEGER;
INSERT INTO user_agents (value) SELECT DISTINCT user_agent FROM events WHERE user_agent <> '';
UPDATE events SET user_agent_id = (SELECT id FROM user_agents WHERE value = events.user_agent) WHERE user_agent <> '';
ALTER TABLE events DROP COLUMN user_agent;
