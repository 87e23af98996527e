-- Which rules matched an event: the drilldown names them beside each event of a window.
CREATE INDEX indicators_event ON indicators (event_id);
