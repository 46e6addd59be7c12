"""A throwaway local Apache Spark server (``local[N]``) in a folder of its own, on 127.0.0.1.

    python -m dagster_project.devtools.sparkserver up [--dir .spark] [--thrift-port 10000]
        [--connect-port 15002] [--cores 2] [--memory 4g]
    python -m dagster_project.devtools.sparkserver down [--dir .spark]

One JVM serves both protocols the project speaks: the Thrift JDBC/ODBC server (HiveServer2) that
dbt-spark's ``thrift`` method uses, and Spark Connect (gRPC, Arrow batches) that the pipeline's
Spark ``Warehouse`` backend uses. Both see one catalog: a Hive metastore in embedded Derby under
``folder/metastore`` and tables stored as Parquet under ``folder/warehouse``. One server is the
point: embedded Derby admits a single JVM, so a dbt process with its own in-process session
(``method: session``) could not share the catalog with the Dagster steps. On a cluster the same
two endpoints are a Spark Thrift server and a Spark Connect server (or Databricks); only the
host names change (README, "Past one machine").

Used by ``make spark-up``/``make spark-down`` and the test suite's ``spark_server`` fixture.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
START_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class SparkServer:
    folder: Path
    thrift_port: int
    connect_port: int

    @property
    def warehouse_dir(self) -> Path:
        return self.folder / "warehouse"

    @property
    def connect_url(self) -> str:
        return f"sc://127.0.0.1:{self.connect_port}"

    def warehouse_env(self) -> dict[str, str]:
        """The environment variables that select this server as the warehouse."""
        return {
            "BI_WAREHOUSE": "spark",
            "DBT_TARGET": "spark",
            "BI_SPARK_CONNECT_URL": self.connect_url,
            "BI_SPARK_THRIFT_HOST": "127.0.0.1",
            "BI_SPARK_THRIFT_PORT": str(self.thrift_port),
        }


def spark_home() -> Path:
    """The Spark distribution that the pyspark package ships (``pip install '.[spark]'``)."""
    try:
        import pyspark
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("pyspark is not installed (make install installs the spark extra)") from exc
    return Path(pyspark.__file__).resolve().parent


def java_available() -> bool:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _pid(folder: Path) -> int | None:
    pid_file = folder / "server.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def is_running(folder: Path) -> bool:
    return _pid(folder.resolve()) is not None


def _command(folder: Path, thrift_port: int, connect_port: int, cores: int,
             memory: str) -> list[str]:
    home = spark_home()
    metastore = folder / "metastore"
    conf = {
        "spark.plugins": CONNECT_PLUGIN,
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(connect_port),
        "spark.hadoop.hive.server2.thrift.bind.host": "127.0.0.1",
        "spark.hadoop.hive.server2.thrift.port": str(thrift_port),
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={metastore};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder}",
        "spark.ui.enabled": "false",
        # a local server's shuffles are small; 200 partitions per shuffle only add task overhead
        "spark.sql.shuffle.partitions": str(2 * cores),
        "spark.sql.session.timeZone": "UTC",
        # the Python workers that run applyInArrow/applyInPandas use the project's interpreter
        "spark.pyspark.python": sys.executable,
    }
    args = [str(home / "bin" / "spark-submit"), "--master", f"local[{cores}]",
            "--driver-memory", memory, "--class", THRIFT_SERVER_CLASS, "--name", "bi-local-spark"]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    return args + ["spark-internal"]


def start(folder: Path, thrift_port: int | None = None, connect_port: int | None = None,
          cores: int = 2, memory: str = "4g") -> SparkServer:
    """Start a server with its data in ``folder`` (kept between starts); wait for both ports.
    ``memory``: the JVM's heap (in local mode the driver and the executors share it)."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if is_running(folder):  # `up` twice is fine
        return SparkServer(folder, int((folder / "thrift_port").read_text()),
                           int((folder / "connect_port").read_text()))
    if not java_available():
        raise RuntimeError("java not found: Spark needs a JDK 17 (apt-get install openjdk-17-jdk-headless)")
    server = SparkServer(folder, thrift_port or free_port(), connect_port or free_port())
    env = {**os.environ, "SPARK_HOME": str(spark_home()), "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1"}
    log = (folder / "server.log").open("ab")
    proc = subprocess.Popen(_command(folder, server.thrift_port, server.connect_port, cores,
                                     memory),
                            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    (folder / "server.pid").write_text(str(proc.pid))
    (folder / "thrift_port").write_text(str(server.thrift_port))
    (folder / "connect_port").write_text(str(server.connect_port))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not (_port_open(server.thrift_port) and _port_open(server.connect_port)):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(folder)
            tail = (folder / "server.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the Spark server in {folder} did not start; server.log ends:\n{tail}")
        time.sleep(0.5)
    return server


def stop(folder: Path) -> None:
    """Stop the server in ``folder`` (its JVM and children); the data stays."""
    folder = folder.resolve()
    pid = _pid(folder)
    if pid is not None:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _pid(folder) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid(folder) is not None:
            os.killpg(pid, signal.SIGKILL)
    (folder / "server.pid").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="throwaway local Spark (Thrift + Connect)")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=Path(".spark"))
    parser.add_argument("--thrift-port", type=int, default=10000)
    parser.add_argument("--connect-port", type=int, default=15002)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--memory", default="4g",
                        help="the JVM's heap (local mode: driver and executors in one JVM)")
    args = parser.parse_args(argv)
    if args.action == "up":
        server = start(args.dir, args.thrift_port, args.connect_port, args.cores, args.memory)
        print(f"Spark local[{args.cores}] in {server.folder}: Thrift on 127.0.0.1:{server.thrift_port}, "
              f"Connect at {server.connect_url}; tables in {server.warehouse_dir}")
    else:
        stop(args.dir)
        print(f"stopped the Spark server in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
