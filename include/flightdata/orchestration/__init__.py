"""What the DAGs do, as plain functions and thin operator classes; the DAG files only wire them."""
