"""S1 for Airflow: a chain of BENCH_CHAIN_LENGTH (default 100) BashOperator tasks running `true`."""
import os
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, chain

LENGTH = int(os.environ.get("BENCH_CHAIN_LENGTH", "100"))

with DAG(dag_id="bench_chain", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, max_active_runs=1):
    chain(*[BashOperator(task_id=f"t{i:03d}", bash_command="true") for i in range(LENGTH)])
