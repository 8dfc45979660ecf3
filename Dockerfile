# The acsq-mongo application image: the library, the CLI, the web app
# (gunicorn) and Dask, for the webapp, dask-scheduler, dask-worker and
# ingest services of docker-compose.yml.
# The explorer's JavaScript libraries (Leaflet, uPlot), pinned in package-lock.json:
# npm ci, then the files the pages load, as scripts/install_js.sh lays them out.
FROM node:20-slim AS js
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/install_js.sh ./scripts/
RUN mkdir -p webapp/static && scripts/install_js.sh

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ACSQ_DATA=/data
WORKDIR /app

COPY pyproject.toml setup.cfg README.md ./
COPY acsq_mongo ./acsq_mongo
COPY webapp ./webapp
COPY --from=js /src/webapp/static/vendor ./webapp/static/vendor
RUN pip install --no-cache-dir ".[deploy]" \
    && useradd --create-home acsq && mkdir -p /data && chown acsq /data

USER acsq
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "webapp.wsgi:app_from_environment()"]
