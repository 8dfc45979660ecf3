# The acsq-mongo application image: the library, the CLI, the web app
# (gunicorn) and Dask, for the webapp, dask-scheduler, dask-worker and
# ingest services of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ACSQ_DATA=/data
WORKDIR /app

COPY pyproject.toml setup.cfg README.md ./
COPY acsq_mongo ./acsq_mongo
COPY webapp ./webapp
RUN pip install --no-cache-dir ".[deploy]" \
    && useradd --create-home acsq && mkdir -p /data && chown acsq /data

USER acsq
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "webapp.wsgi:app_from_environment()"]
