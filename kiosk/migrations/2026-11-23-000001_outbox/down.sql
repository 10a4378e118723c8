DROP TABLE settings;
DROP TABLE rejected_taps;
DROP TABLE taps;
