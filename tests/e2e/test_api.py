"""The instructor and admin API over real HTTP: tokens, ownership, validation,
content CRUD, essay grading and course analytics."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from db.engine import make_sessionmaker
from db.queries import quiz as quiz_q
from tests.e2e.test_broadcasts import (
    ADMIN,
    ServiceFactory,
    api,
    make_service,
    new_course,
    new_instructor,
    seed,
)
from tests.harness import Service

__all__ = ["make_service"]  # the fixture, shared with the broadcast tests


async def test_tokens_401_and_admin_only_403(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        assert (await api(service, "GET", "/courses", token=None)).status_code == 401
        assert (await api(service, "GET", "/courses", token="nope")).status_code == 401
        response = await service.http.get(
            "/api/v1/courses", headers={"Authorization": "Basic " + ADMIN}
        )
        assert response.status_code == 401
        teacher = await new_instructor(service, "Meena")
        assert (await api(service, "GET", "/courses", teacher.token)).status_code == 200
        # Instructors cannot make instructors, roadmaps or badges.
        assert (
            await api(service, "POST", "/instructors", teacher.token, json={"display_name": "X"})
        ).status_code == 403
        roadmap = {"title": "R", "description": "D", "goal": "G", "difficulty": "beginner"}
        assert (
            await api(service, "POST", "/roadmaps", teacher.token, json=roadmap)
        ).status_code == 403
        # A revoked token is refused; a new one works.
        tokens = await service.rows(
            "SELECT id FROM instructor_tokens WHERE user_id = :u", u=uuid.UUID(teacher.id)
        )
        revoked = await api(service, "DELETE", f"/instructors/{teacher.id}/tokens/{tokens[0][0]}")
        assert revoked.status_code == 204
        assert (await api(service, "GET", "/courses", teacher.token)).status_code == 401
        fresh = await api(service, "POST", f"/instructors/{teacher.id}/tokens", json={})
        assert fresh.status_code == 201
        assert (await api(service, "GET", "/courses", fresh.json()["token"])).status_code == 200
        # Tokens are stored hashed, never as issued.
        stored = await service.scalar("SELECT string_agg(token_hash, ',') FROM instructor_tokens")
        assert fresh.json()["token"] not in stored and len(stored.split(",")[0]) == 64
        listed = (await api(service, "GET", "/instructors")).json()
        assert [i["display_name"] for i in listed] == ["Meena"]

        docs = await service.http.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        spec = (await service.http.get("/openapi.json")).json()
        for path in ("/api/v1/broadcasts", "/api/v1/grading/essays", "/api/v1/lessons"):
            assert path in spec["paths"]
        assert "CourseIn" in spec["components"]["schemas"]


async def test_another_instructors_course_is_403(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        alice = await new_instructor(service, "Alice")
        bob = await new_instructor(service, "Bob")
        course_id, lesson_id = await new_course(service, alice.token, "Alice's course")
        await seed(service, course_id, 3)

        async def status(method: str, path: str, **kw: Any) -> int:
            return (await api(service, method, path, bob.token, **kw)).status_code

        assert await status("GET", f"/courses/{course_id}") == 403
        assert await status("PATCH", f"/courses/{course_id}", json={"title": "Mine"}) == 403
        assert await status("POST", f"/courses/{course_id}/archive") == 403
        assert await status("GET", f"/lessons/{lesson_id}") == 403
        lesson = {"course_id": course_id, "title": "x", "content_type": "text", "description": "y"}
        assert await status("POST", "/lessons", json=lesson) == 403
        assert (
            await status("POST", "/broadcasts", json={"course_id": course_id, "text": "hi"}) == 403
        )
        assert await status("GET", f"/courses/{course_id}/analytics") == 403
        assert await status("GET", f"/courses/{course_id}/audience") == 403
        # Bob sees only his own courses; the admin sees all.
        assert (await api(service, "GET", "/courses", bob.token)).json() == []
        assert len((await api(service, "GET", "/courses")).json()) == 1
        # An instructor cannot give a course to someone else.
        foreign = {
            "title": "T", "description": "D", "category": "weather", "level": "beginner",
            "instructor_id": alice.id,
        }  # fmt: skip
        assert await status("POST", "/courses", json=foreign) == 403

        # Alice's broadcast is hers: Bob gets 403 for it, and for its cancel.
        sent = await api(service, "POST", "/broadcasts", alice.token,
                         json={"course_id": course_id, "text": "Hello"})  # fmt: skip
        assert sent.status_code == 202
        assert await status("GET", f"/broadcasts/{sent.json()['id']}") == 403
        assert await status("POST", f"/broadcasts/{sent.json()['id']}/cancel") == 403
        mine = (await api(service, "GET", "/broadcasts", bob.token)).json()
        assert mine == []
        missing = f"/courses/{uuid.uuid4()}"
        assert await status("GET", missing) == 404


async def test_validation_errors_name_the_field(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        bad = await api(
            service, "POST", "/courses",
            json={"title": "", "description": "D", "category": "moon", "level": "beginner",
                  "discount_percent": 120},
        )  # fmt: skip
        assert bad.status_code == 422
        fields = {tuple(e["loc"]) for e in bad.json()["detail"]}
        assert fields == {
            ("body", "title"),
            ("body", "category"),
            ("body", "discount_percent"),
        }
        _course, lesson_id = await new_course(service, ADMIN, "Validated")
        # The patched row is validated whole: a video lesson needs its URL.
        video = await api(service, "PATCH", f"/lessons/{lesson_id}", json={"content_type": "video"})
        assert video.status_code == 422
        assert "content_url" in video.json()["detail"][0]["msg"]
        unknown = await api(service, "PATCH", f"/lessons/{lesson_id}", json={"colour": "red"})
        assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == [
            "body",
            "colour",
        ]
        moved = await api(
            service, "PATCH", f"/lessons/{lesson_id}", json={"course_id": str(uuid.uuid4())}
        )
        assert moved.status_code == 422
        nowhere = {"course_id": str(uuid.uuid4()), "title": "x", "content_type": "text",
                   "description": "y"}  # fmt: skip
        orphan = await api(service, "POST", "/lessons", json=nowhere)
        assert orphan.status_code == 422 and orphan.json()["detail"][0]["loc"] == [
            "body",
            "course_id",
        ]
        question = {"quiz_id": str(uuid.uuid4()), "type": "multiple_choice", "text": "?",
                    "options": [{"text": "a"}, {"text": "b"}]}  # fmt: skip
        assert (await api(service, "POST", "/questions", json=question)).status_code == 422


async def test_content_crud_publish_and_archive(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        teacher = await new_instructor(service, "Kavita")
        token = teacher.token
        course = await api(
            service, "POST", "/courses", token,
            json={"title": "Onion storage", "description": "Keep onions longer",
                  "category": "crop-management", "level": "intermediate", "price": "199.00"},
        )  # fmt: skip
        assert course.status_code == 201, course.text
        course_id = course.json()["id"]
        assert course.json()["instructor_id"] == teacher.id
        assert course.json()["is_published"] is False
        for n in (1, 2):
            lesson = await api(
                service, "POST", "/lessons", token,
                json={"course_id": course_id, "title": f"Lesson {n}", "content_type": "text",
                      "description": "Dry them in shade."},
            )  # fmt: skip
            assert lesson.status_code == 201 and lesson.json()["order_index"] == n
        lessons = (await api(service, "GET", f"/lessons?course_id={course_id}", token)).json()
        assert [x["title"] for x in lessons] == ["Lesson 1", "Lesson 2"]
        card = (await api(service, "GET", f"/courses/{course_id}", token)).json()
        assert card["lessons"] == 2 and "search_vector" not in card

        quiz = await api(
            service, "POST", "/quizzes", token,
            json={"course_id": course_id, "lesson_id": lessons[1]["id"], "title": "Check",
                  "passing_score": 60},
        )  # fmt: skip
        assert quiz.status_code == 201, quiz.text
        question = await api(
            service, "POST", "/questions", token,
            json={"quiz_id": quiz.json()["id"], "type": "true_false", "text": "Store wet?",
                  "options": [{"text": "True"}, {"text": "False", "is_correct": True}]},
        )  # fmt: skip
        assert question.status_code == 201, question.text
        assert question.json()["question_type"] == "true_false"
        edited = await api(
            service, "PATCH", f"/questions/{question.json()['id']}", token, json={"points": 3}
        )
        assert edited.status_code == 200 and edited.json()["points"] == 3

        renamed = await api(
            service, "PATCH", f"/courses/{course_id}", token, json={"title": "Onion storage 2"}
        )
        assert renamed.json()["title"] == "Onion storage 2"
        assert renamed.json()["price"] == 199.0
        published = (await api(service, "POST", f"/courses/{course_id}/publish", token)).json()
        assert published["is_published"] is True and published["published_at"]
        archived = (await api(service, "POST", f"/courses/{course_id}/archive", token)).json()
        assert archived["is_archived"] is True and archived["is_published"] is False

        article = await api(
            service, "POST", "/articles", token,
            json={"title": "Onion prices", "excerpt": "Why they swing", "content": "Long text",
                  "category": "crop-management"},
        )  # fmt: skip
        assert article.status_code == 201 and article.json()["author_id"] == teacher.id
        video = await api(
            service, "POST", "/videos", token,
            json={"title": "Curing onions", "category": "crop-management",
                  "video_type": "youtube", "video_url": "https://youtu.be/x"},
        )  # fmt: skip
        assert video.status_code == 201 and video.json()["creator_id"] == teacher.id
        shown = await api(service, "POST", f"/videos/{video.json()['id']}/publish", token)
        assert shown.json()["is_published"] is True

        roadmap = await api(
            service, "POST", "/roadmaps",
            json={"title": "Onion farmer", "description": "All about onions", "goal": "Profit",
                  "difficulty": "beginner"},
        )  # fmt: skip
        assert roadmap.status_code == 201
        milestone = await api(
            service, "POST", "/milestones",
            json={"roadmap_id": roadmap.json()["id"], "title": "Store well", "course_id": course_id},
        )  # fmt: skip
        assert milestone.status_code == 201 and milestone.json()["order_index"] == 1
        badge = {"name": "Onion expert", "description": "Finished onion storage",
                 "category": "completion", "requirement_type": "courses_completed",
                 "requirement_value": 1}  # fmt: skip
        assert (await api(service, "POST", "/badges", json=badge)).status_code == 201
        assert (await api(service, "POST", "/badges", json=badge)).status_code == 409
        wrong = dict(badge, name="Other", requirement_type="moon_landings")
        assert (await api(service, "POST", "/badges", json=wrong)).status_code == 422
        # Everyone may read roadmaps and badges.
        assert len((await api(service, "GET", "/badges", token)).json()) == 1
        audit = await service.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'course.%'")
        assert audit == 4


async def _attempt(
    service: Service, quiz_id: str, answers: list[tuple[str, str, bool | None, int | None]]
) -> uuid.UUID:
    """A farmer's finished attempt, scored the way the quiz conversation scores it."""
    user = (await seed(service, None, 1))[0]
    user_id = await service.scalar(
        "SELECT user_id FROM channel_identities WHERE external_id = :e", e=user
    )
    attempt_id = uuid.uuid4()
    await service.execute(
        """
        WITH attempt AS (
            INSERT INTO quiz_attempts (id, user_id, quiz_id, attempt_number)
            VALUES (:a, :u, :q, 1)
        )
        INSERT INTO quiz_attempt_progress (attempt_id, user_id, quiz_id, question_ids)
        VALUES (:a, :u, :q, CAST(:order AS uuid[]))
        """,
        a=attempt_id, u=user_id, q=uuid.UUID(quiz_id),
        order=[question for question, *_rest in answers],
    )  # fmt: skip
    for question, answer, correct, points in answers:
        await service.execute(
            "INSERT INTO quiz_answers (attempt_id, question_id, user_answer, is_correct,"
            " points_earned) VALUES (:a, :q, :answer, :correct, :points)",
            a=attempt_id, q=uuid.UUID(question), answer=answer, correct=correct, points=points,
        )  # fmt: skip
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await quiz_q.finish_attempt(session, attempt_id, "finished")
    return attempt_id


async def test_essay_grading_rescores_the_attempt(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        alice = await new_instructor(service, "Alice")
        bob = await new_instructor(service, "Bob")
        course_id, lesson_id = await new_course(service, alice.token, "Sowing")
        quiz = (
            await api(service, "POST", "/quizzes", alice.token,
                      json={"course_id": course_id, "title": "Plan", "passing_score": 60})
        ).json()  # fmt: skip
        choice = (
            await api(service, "POST", "/questions", alice.token,
                      json={"quiz_id": quiz["id"], "type": "true_false", "text": "Sow dry?",
                            "options": [{"text": "True"}, {"text": "False", "is_correct": True}]})
        ).json()  # fmt: skip
        essay = (
            await api(service, "POST", "/questions", alice.token,
                      json={"quiz_id": quiz["id"], "type": "essay", "text": "Your plan?",
                            "points": 2})
        ).json()  # fmt: skip
        attempt = await _attempt(
            service,
            quiz["id"],
            [(choice["id"], "True", False, 0), (essay["id"], "Sow after 75 mm rain", None, None)],
        )
        before = (await service.rows("SELECT score, passed FROM quiz_attempts"))[0]
        assert before == (0, False)

        queue = await api(service, "GET", "/grading/essays", alice.token)
        assert [a["user_answer"] for a in queue.json()] == ["Sow after 75 mm rain"]
        answer_id = queue.json()[0]["answer_id"]
        assert (await api(service, "GET", "/grading/essays", bob.token)).json() == []
        forbidden = await api(
            service, "POST", f"/grading/essays/{answer_id}", bob.token, json={"points": 2}
        )
        assert forbidden.status_code == 403
        too_many = await api(
            service, "POST", f"/grading/essays/{answer_id}", alice.token, json={"points": 3}
        )
        assert too_many.status_code == 422

        graded = await api(
            service, "POST", f"/grading/essays/{answer_id}", alice.token, json={"points": 2}
        )
        assert graded.status_code == 200, graded.text
        result = graded.json()["attempt"]
        # 2 of 3 points: 66.67% ≥ 60%, so the attempt now passes.
        assert result == {
            "score": 2, "possible": 3, "percentage": "66.67", "passed": True, "ungraded": 0,
        }  # fmt: skip
        row = (
            await service.rows(
                "SELECT score, percentage, passed FROM quiz_attempts WHERE id = :a", a=attempt
            )
        )[0]
        assert row == (2, Decimal("66.67"), True)
        answer = (
            await service.rows(
                "SELECT is_correct, points_earned FROM quiz_answers WHERE id = :a",
                a=uuid.UUID(answer_id),
            )
        )[0]
        assert answer == (True, 2)
        assert (await api(service, "GET", "/grading/essays", alice.token)).json() == []
        # A second look: zero points, and the attempt fails again.
        regraded = await api(
            service, "POST", f"/grading/essays/{answer_id}", alice.token, json={"points": 0}
        )
        assert regraded.json()["attempt"]["passed"] is False
        assert regraded.json()["answer"]["is_correct"] is False
        assert lesson_id  # the course's lesson is untouched by grading


async def test_course_analytics(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        teacher = await new_instructor(service, "Analyst")
        course_id, first = await new_course(service, teacher.token, "Analytics")
        second = (
            await api(service, "POST", "/lessons", teacher.token,
                      json={"course_id": course_id, "title": "Two", "content_type": "text",
                            "description": "More"})
        ).json()["id"]  # fmt: skip
        await seed(service, course_id, 6)
        await seed(service, course_id, 2, status="completed")
        await seed(service, course_id, 2, status="dropped")
        # Three farmers finished lesson one; one of them started lesson two.
        await service.execute(
            """
            INSERT INTO lesson_progress (user_id, lesson_id, status)
            SELECT user_id, :first, 'completed' FROM course_enrollments
             WHERE course_id = :c AND status = 'enrolled' ORDER BY user_id LIMIT 3
            """,
            first=uuid.UUID(first), c=uuid.UUID(course_id),
        )  # fmt: skip
        await service.execute(
            """
            INSERT INTO lesson_progress (user_id, lesson_id, status)
            SELECT user_id, :second, 'in_progress' FROM course_enrollments
             WHERE course_id = :c AND status = 'enrolled' ORDER BY user_id LIMIT 1
            """,
            second=uuid.UUID(second), c=uuid.UUID(course_id),
        )  # fmt: skip
        report = await api(service, "GET", f"/courses/{course_id}/analytics", teacher.token)
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["enrolments"]["enrolled"] == 10
        assert body["enrolments"]["completed"] == 2 and body["enrolments"]["dropped"] == 2
        assert body["enrolments"]["completion_rate"] == 0.2
        one, two = body["lessons"]
        assert (one["completed"], two["started"], two["completed"]) == (3, 1, 0)
        # 3 enrolled and 2 dropped never finished lesson one; 3 stopped at lesson two.
        assert (one["stopped_here"], two["stopped_here"]) == (5, 3)
