DROP TABLE process_change_stores;
DROP TABLE process_changes;
