/// The service's OpenAPI 3.1 description, served at `/openapi.json`. The schemas are the Codable
/// answers of Answers.swift in their JSON form; the tests run schemathesis against the live
/// server with this document, so the two cannot drift apart unnoticed.
let openAPIDocument = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "bookrec",
    "version": "1.0.0",
    "description": "Precomputed book recommendations from the active generation of a bookrec store. Errors are application/problem+json (RFC 9457)."
  },
  "paths": {
    "/v1/readers/{id}/recommendations": {
      "get": {
        "operationId": "recommend",
        "summary": "A reader's top-K books, best first, with the reader's own book each is closest to",
        "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/k"}],
        "responses": {
          "200": {"description": "The reader's list", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RecommendationList"}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "404": {"$ref": "#/components/responses/Problem"},
          "422": {"$ref": "#/components/responses/Problem"},
          "503": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/v1/books/{id}": {
      "get": {
        "operationId": "book",
        "summary": "A book of the catalog",
        "parameters": [{"$ref": "#/components/parameters/id"}],
        "responses": {
          "200": {"description": "The book", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BookDetails"}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "404": {"$ref": "#/components/responses/Problem"},
          "503": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/v1/books/{id}/similar": {
      "get": {
        "operationId": "similar",
        "summary": "The books whose item vectors have the highest cosine with this book's",
        "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/k"}],
        "responses": {
          "200": {"description": "Nearest books, nearest first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SimilarBooks"}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "404": {"$ref": "#/components/responses/Problem"},
          "422": {"$ref": "#/components/responses/Problem"},
          "503": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/v1/rank": {
      "post": {
        "operationId": "rank",
        "summary": "Scores candidate books for a reader, best first (ties by book id)",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RankRequest"}}}
        },
        "responses": {
          "200": {"description": "The candidates with their scores", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RankedBooks"}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "404": {"$ref": "#/components/responses/Problem"},
          "413": {"$ref": "#/components/responses/Problem"},
          "422": {"$ref": "#/components/responses/Problem"},
          "503": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/v1/status": {
      "get": {
        "operationId": "status",
        "summary": "Generations, their shard progress, and the latest dead-lettered jobs",
        "responses": {
          "200": {"description": "The store's state", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StatusReport"}}}},
          "503": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/v1/reindex/{id}": {
      "get": {
        "operationId": "reindexRequest",
        "summary": "An enqueued reindex request (add-books or add-ratings --enqueue): queued, running, done or failed",
        "parameters": [{"$ref": "#/components/parameters/id"}],
        "responses": {
          "200": {"description": "The request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReindexStatus"}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "404": {"$ref": "#/components/responses/Problem"},
          "503": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/covers/{id}": {
      "get": {
        "operationId": "cover",
        "summary": "The stored cover image of a book, with its content hash as ETag",
        "parameters": [{"$ref": "#/components/parameters/id"}],
        "responses": {
          "200": {
            "description": "The image bytes",
            "headers": {"ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}},
            "content": {"image/jpeg": {"schema": {"type": "string", "contentMediaType": "image/jpeg"}}, "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}}}
          },
          "304": {"description": "The client's copy (If-None-Match) is current"},
          "400": {"$ref": "#/components/responses/Problem"},
          "404": {"$ref": "#/components/responses/Problem"},
          "503": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/healthz": {
      "get": {
        "operationId": "health",
        "summary": "The process answers",
        "responses": {"200": {"description": "Alive", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}}}}}
      }
    },
    "/readyz": {
      "get": {
        "operationId": "ready",
        "summary": "Ready once a generation is active and loaded",
        "responses": {
          "200": {"description": "Ready", "content": {"application/json": {"schema": {"type": "object", "required": ["status", "generation"], "properties": {"status": {"const": "ready"}, "generation": {"type": "integer"}}}}}},
          "503": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "summary": "Prometheus metrics: requests by route and status, latency histograms",
        "responses": {"200": {"description": "Prometheus text format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}}}
      }
    }
  },
  "components": {
    "parameters": {
      "id": {"name": "id", "in": "path", "required": true, "description": "A reader's user_id or a book's book_id", "schema": {"type": "integer", "format": "int64"}},
      "k": {"name": "k", "in": "query", "required": false, "description": "How many books", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}}
    },
    "responses": {
      "Problem": {"description": "What was wrong", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    },
    "schemas": {
      "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}
      },
      "RelatedBook": {
        "type": "object",
        "required": ["book_id", "title", "similarity"],
        "properties": {"book_id": {"type": "integer", "format": "int64"}, "title": {"type": "string"}, "similarity": {"type": "number"}}
      },
      "RecommendationList": {
        "type": "object",
        "required": ["user_id", "generation", "recommendations"],
        "properties": {
          "user_id": {"type": "integer", "format": "int64"},
          "generation": {"type": "integer"},
          "recommendations": {
            "type": "array",
            "items": {
              "type": "object",
              "required": ["rank", "book_id", "score", "title", "authors"],
              "properties": {
                "rank": {"type": "integer", "minimum": 1},
                "book_id": {"type": "integer", "format": "int64"},
                "score": {"type": "number"},
                "title": {"type": "string"},
                "authors": {"type": "string"},
                "close_to": {"$ref": "#/components/schemas/RelatedBook"}
              }
            }
          }
        }
      },
      "SimilarBooks": {
        "type": "object",
        "required": ["book_id", "generation", "similar"],
        "properties": {
          "book_id": {"type": "integer", "format": "int64"},
          "generation": {"type": "integer"},
          "similar": {
            "type": "array",
            "items": {
              "type": "object",
              "required": ["book_id", "similarity", "title", "authors"],
              "properties": {"book_id": {"type": "integer", "format": "int64"}, "similarity": {"type": "number"}, "title": {"type": "string"}, "authors": {"type": "string"}}
            }
          }
        }
      },
      "RankRequest": {
        "type": "object",
        "required": ["user_id", "book_ids"],
        "properties": {
          "user_id": {"type": "integer", "format": "int64"},
          "book_ids": {"type": "array", "items": {"type": "integer", "format": "int64"}, "minItems": 1, "maxItems": 1000}
        }
      },
      "RankedBooks": {
        "type": "object",
        "required": ["user_id", "generation", "ranked"],
        "properties": {
          "user_id": {"type": "integer", "format": "int64"},
          "generation": {"type": "integer"},
          "ranked": {
            "type": "array",
            "items": {"type": "object", "required": ["book_id", "score"], "properties": {"book_id": {"type": "integer", "format": "int64"}, "score": {"type": "number"}}}
          }
        }
      },
      "BookDetails": {
        "type": "object",
        "required": ["book_id", "title", "authors", "language", "isbn13", "description", "tags", "genres"],
        "properties": {
          "book_id": {"type": "integer", "format": "int64"},
          "title": {"type": "string"},
          "authors": {"type": "string"},
          "year": {"type": "integer"},
          "language": {"type": "string"},
          "isbn13": {"type": "string"},
          "description": {"type": "string"},
          "tags": {"type": "array", "items": {"type": "string"}},
          "genres": {"type": "array", "items": {"type": "string"}},
          "cover": {"type": "string", "description": "Where the cover is served; absent when the book has none"}
        }
      },
      "ReindexStatus": {
        "type": "object",
        "required": ["id", "kind", "file", "accepted", "state", "accepted_at"],
        "properties": {
          "id": {"type": "integer"},
          "kind": {"enum": ["books", "ratings"]},
          "file": {"type": "string"},
          "accepted": {"type": "integer"},
          "state": {"enum": ["queued", "running", "done", "failed"]},
          "generation": {"type": "integer", "description": "running: the generation being built; done: the one that activated it"},
          "reason": {"type": "string", "description": "Why it failed"},
          "accepted_at": {"type": "string", "format": "date-time"}
        }
      },
      "StatusReport": {
        "type": "object",
        "required": ["generations", "dead_letters", "reindex"],
        "properties": {
          "active_generation": {"type": "integer", "description": "Absent while no generation is active"},
          "generations": {
            "type": "array",
            "items": {
              "type": "object",
              "required": ["id", "kind", "state", "active", "encoders", "created_at", "shards"],
              "properties": {
                "id": {"type": "integer"},
                "kind": {"type": "string"},
                "state": {"type": "string"},
                "active": {"type": "boolean"},
                "encoders": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "shards": {
                  "type": "object",
                  "additionalProperties": {
                    "type": "object",
                    "required": ["total", "done", "running", "failed"],
                    "properties": {"total": {"type": "integer"}, "done": {"type": "integer"}, "running": {"type": "integer"}, "failed": {"type": "integer"}}
                  }
                }
              }
            }
          },
          "reindex": {"type": "array", "description": "The latest enqueued reindex requests, newest first", "items": {"$ref": "#/components/schemas/ReindexStatus"}},
          "dead_letters": {
            "type": "array",
            "items": {
              "type": "object",
              "required": ["reason", "at", "current"],
              "properties": {
                "generation": {"type": "integer"},
                "kind": {"type": "string"},
                "shard": {"type": "integer"},
                "reason": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
                "current": {"type": "boolean"}
              }
            }
          }
        }
      }
    }
  }
}
"""#
