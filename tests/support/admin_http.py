"""A Wagtail admin user over real HTTP (requests against pytest-django's live_server): logs in
through the login form and sends Django's CSRF token with every unsafe request, as a browser
does."""

import requests


class AdminSession:
    def __init__(self, base_url: str, username: str, password: str = "pw"):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.get(self.base + "/admin/login/", timeout=30).raise_for_status()
        answer = self.http.post(self.base + "/admin/login/", timeout=30, data={
            "username": username, "password": password,
            "csrfmiddlewaretoken": self.http.cookies["csrftoken"]},
            headers={"Referer": self.base + "/admin/login/"}, allow_redirects=False)
        if answer.status_code != 302:
            raise AssertionError(f"login as {username} failed: {answer.status_code}")

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.base + path, timeout=30, **kwargs)

    def post(self, path: str, data=None, files=None, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        token = self.http.cookies.get("csrftoken", "")
        return self.http.post(self.base + path, data={**(data or {}),
                                                     "csrfmiddlewaretoken": token},
                              files=files, timeout=60,
                              headers={"Referer": self.base + path}, **kwargs)


def refused_over_http(answer: requests.Response) -> bool:
    """Wagtail's refusal: 403, or a redirect to the dashboard (a page request)."""
    if answer.status_code == 403:
        return True
    return answer.status_code == 302 and answer.headers["Location"].rstrip("/").endswith("/admin")
