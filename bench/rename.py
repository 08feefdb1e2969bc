"""The Python baselines for bench/run's rename workload: what users run today.

    rename.py serial DIR          one file at a time: list, look up, rename
    rename.py pool N DIR          multiprocessing.Pool(N, initializer=connect)

The lookup is SELECT lookup_name(%s); the environment comes from
tests/servers.sh.
"""
import multiprocessing
import os
import sys

conn = None
EXTS = (".dat", ".csv")


def connect():
    global conn
    import psycopg2
    conn = psycopg2.connect(host=os.environ["MPW_PG_SOCKET"], port=os.environ["MPW_PG_PORT"],
                            user="mpw", dbname="mpw")
    conn.autocommit = True


def rename_one(path):
    directory, name = os.path.split(path)
    cur = conn.cursor()
    cur.execute("SELECT lookup_name(%s)", (name,))
    row = cur.fetchone()
    cur.close()
    if row and row[0]:
        os.rename(path, os.path.join(directory, row[0]))


def files(directory):
    return [os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(EXTS)]


if __name__ == "__main__":
    if sys.argv[1] == "serial":
        connect()
        for p in files(sys.argv[2]):
            rename_one(p)
    else:
        with multiprocessing.Pool(int(sys.argv[2]), initializer=connect) as pool:
            pool.map(rename_one, files(sys.argv[3]))
