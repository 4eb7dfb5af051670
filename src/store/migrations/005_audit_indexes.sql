-- Exports filter by time and then by user; a second index per event cost more than it saved.
drop index if exists session_events_by_user_time;
