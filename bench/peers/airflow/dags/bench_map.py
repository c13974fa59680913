"""S2 for Airflow: BENCH_MAP_SIZE (default 1,000) mapped BashOperator instances running `true`."""
import os
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

SIZE = int(os.environ.get("BENCH_MAP_SIZE", "1000"))

with DAG(dag_id="bench_map", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, max_active_runs=1):
    BashOperator.partial(task_id="t").expand(bash_command=["true"] * SIZE)
